"""Structured logging (structlog) for the whole process.

With a ``mask`` (the vault's masker, passed in by the composition root), every
log line, whether from structlog or the standard library, passes through it
after exceptions are formatted into text, so a secret in an event, a field, an
exception message or a traceback is replaced before anything is written (MIN-1).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import structlog
from structlog.typing import EventDict, WrappedLogger

from bastion.settings import Settings

Mask = Callable[[Any], Any]
_PLAIN = (str, int, float, bool, dict, list, tuple)


class MaskSecrets:
    """A structlog processor: every value of the event dict goes through ``mask``."""

    def __init__(self, mask: Mask) -> None:
        self._mask = mask

    def __call__(self, _logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
        return {key: self._value(value) for key, value in event.items()}

    def _value(self, value: Any) -> Any:
        if value is None or isinstance(value, _PLAIN):
            return self._mask(value)
        # Anything else is rendered with repr(): check what would be written.
        text = repr(value)
        hidden = self._mask(text)
        return value if hidden == text else hidden


def configure_logging(settings: Settings, *, mask: Mask | None = None) -> None:
    level = getattr(logging, settings.log_level.upper())
    renderer = (
        structlog.processors.JSONRenderer()
        if settings.log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    # Tracebacks become plain text first (no frame locals), so the mask sees them whole.
    final: list[Any] = [structlog.processors.format_exc_info, MaskSecrets(mask)] if mask else []
    structlog.configure(
        processors=[*shared, *final, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *final, renderer],
    )
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for chatty in ("alembic", "httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(max(level, logging.WARNING))
