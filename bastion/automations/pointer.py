"""RFC 6901 JSON pointers: how problems and changes name a place in a definition."""

from __future__ import annotations


def join(pointer: str, token: str | int) -> str:
    """The pointer to child ``token`` of ``pointer`` (``join("/steps", 2)`` -> ``/steps/2``)."""
    escaped = str(token).replace("~", "~0").replace("/", "~1")
    return f"{pointer}/{escaped}"


def parent(pointer: str) -> str:
    """The pointer one level up; the root ``""`` is its own parent."""
    return pointer.rpartition("/")[0]
