"""The one error hierarchy. Domains subclass these; adapters map them once.

Every error carries a stable machine-readable ``code`` and a human ``message``
that is safe to show to a caller (no stack trace, SQL, path or secret). Extra
``details`` must be safe to show too: they are meant for the caller.
"""

from __future__ import annotations

from typing import Any


class BastionError(Exception):
    """Base of every error Bastion raises on purpose."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class NotFound(BastionError):
    code = "not_found"


class Forbidden(BastionError):
    """The principal may not do this. ``reason`` is a stable denial code."""

    code = "forbidden"


class Unauthenticated(BastionError):
    code = "unauthenticated"


class Invalid(BastionError):
    code = "invalid"


class Conflict(BastionError):
    code = "conflict"


class RateLimited(BastionError):
    code = "rate_limited"

    def __init__(self, message: str, *, resets_in: float, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.resets_in = resets_in


class Unavailable(BastionError):
    code = "unavailable"
