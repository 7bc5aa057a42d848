"""Input validation against the trigger's JSON Schema, before any execution exists (HND-1)."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry

from bastion.errors import Invalid


class InputInvalid(Invalid):
    code = "invalid_input"


def _pointer(path: Any) -> str:
    return "".join(f"/{str(p).replace('~', '~0').replace('/', '~1')}" for p in path)


class InputValidator:
    """Compiled validators, one per automation version, reused across requests."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, int], Draft202012Validator | None] = {}

    def check(self, key: tuple[str, int], schema: dict[str, Any] | None, value: Any) -> None:
        """Raise InputInvalid listing every violation (pointer and message)."""
        validator = self._validator(key, schema)
        if validator is None or validator.is_valid(value):
            return
        errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))[:50]
        details = [{"pointer": _pointer(e.absolute_path), "message": _message(e)} for e in errors]
        first = best_match(errors)
        raise InputInvalid(
            f"input does not match the trigger's schema: {_pointer(first.absolute_path) or '/'}: "
            f"{_message(first)}",
            details=details,
        )

    def _validator(self, key: tuple[str, int], schema: dict[str, Any] | None) -> Any:
        if key not in self._cache:
            self._cache[key] = (
                # An empty registry: a "$ref" to a URL is never fetched (no SSRF from a schema).
                Draft202012Validator(
                    schema, format_checker=Draft202012Validator.FORMAT_CHECKER, registry=Registry()
                )
                if schema is not None
                else None
            )
        return self._cache[key]


def _message(error: Any) -> str:
    # The validator's message quotes the offending value, which may be personal
    # data: name the rule that failed instead.
    if error.validator == "required":
        return str(error.message)
    if error.validator == "type":
        return f"must be of type {error.validator_value}"
    if error.validator in ("enum", "const"):
        return "is not one of the allowed values"
    if error.validator == "additionalProperties":
        return "has properties the schema does not allow"
    if error.validator == "format":
        return f"is not a valid {error.validator_value}"
    return f"fails the {error.validator!r} rule ({error.validator_value!r})"
