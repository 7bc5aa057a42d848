"""Triggers: how executions start (manual, webhook, schedule), each validating its input first."""

from bastion.triggers.inputs import InputInvalid, InputValidator
from bastion.triggers.manual import ManualTrigger
from bastion.triggers.models import ScheduleRow
from bastion.triggers.schedule import Scheduler
from bastion.triggers.webhook import WebhookOutcome, WebhookReceiver

__all__ = [
    "InputInvalid",
    "InputValidator",
    "ManualTrigger",
    "ScheduleRow",
    "Scheduler",
    "WebhookOutcome",
    "WebhookReceiver",
]
