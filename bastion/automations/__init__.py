"""Automations: the definition format, its validation, immutable versions and their changes."""

from bastion.automations.definition import (
    DataCategory,
    Definition,
    Sensitivity,
    Step,
    json_schema,
)
from bastion.automations.errors import AutomationNotFound, DefinitionInvalid, Problem
from bastion.automations.expressions import Template, compile_reference
from bastion.automations.models import AutomationRow, AutomationVersionRow
from bastion.automations.service import ApplyResult, AutomationService, Current

__all__ = [
    "ApplyResult",
    "AutomationNotFound",
    "AutomationRow",
    "AutomationService",
    "AutomationVersionRow",
    "Current",
    "DataCategory",
    "Definition",
    "DefinitionInvalid",
    "Problem",
    "Sensitivity",
    "Step",
    "Template",
    "compile_reference",
    "json_schema",
]
