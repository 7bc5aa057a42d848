"""Executions read back with every vault value masked (MIN-1, defence in depth)."""

from __future__ import annotations

from dataclasses import replace

from bastion.engine.views import ExecutionView
from bastion.vault import Masker


def masked(execution: ExecutionView, masker: Masker) -> ExecutionView:
    """``execution`` with its input, output, error and step records passed through
    ``masker``; the same object when the vault is empty."""
    if masker.empty:
        return execution
    return replace(
        execution,
        input=masker.mask(execution.input),
        output=masker.mask(execution.output),
        error=masker.mask(execution.error),
        steps=masker.mask(execution.steps),
    )
