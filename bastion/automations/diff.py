"""Structural differences between two JSON documents, for apply output and the audit trail.

Changes are listed in a deterministic order (mapping keys sorted, list indexes
ascending, except that removals from the end of a list come last-index first),
so the same two documents always give the same list, and the list is also a
valid RFC 6902 patch from ``old`` to ``new``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from bastion.automations.pointer import join


@dataclass(frozen=True)
class Change:
    op: Literal["add", "remove", "replace"]
    path: str  # JSON pointer; "" is the whole document
    old: Any = None
    new: Any = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form: ``old`` only when something was there, ``new`` only when it stays."""
        out: dict[str, Any] = {"op": self.op, "path": self.path}
        if self.op != "add":
            out["old"] = self.old
        if self.op != "remove":
            out["new"] = self.new
        return out


def diff(old: Any, new: Any) -> list[Change]:
    """The changes that turn ``old`` into ``new``.

    ``old=None`` means there was no previous document: the result is a single
    add of the whole of ``new`` at ``""``. Lists are compared index by index.
    """
    if old is None:
        return [Change("add", "", new=new)]
    return list(_diff(old, new, ""))


def summarize(changes: list[Change]) -> list[str]:
    """The pointers that changed, in the order of ``changes``."""
    return [change.path for change in changes]


def _diff(old: Any, new: Any, path: str) -> Iterator[Change]:
    if isinstance(old, dict) and isinstance(new, dict):
        yield from _diff_dicts(old, new, path)
    elif isinstance(old, list) and isinstance(new, list):
        yield from _diff_lists(old, new, path)
    elif not _same(old, new):
        yield Change("replace", path, old, new)


def _diff_dicts(old: dict[Any, Any], new: dict[Any, Any], path: str) -> Iterator[Change]:
    # key=str: keys inside free-form values may mix types, which plain sorting refuses.
    for key in sorted(old.keys() | new.keys(), key=str):
        here = join(path, key)
        if key not in new:
            yield Change("remove", here, old=old[key])
        elif key not in old:
            yield Change("add", here, new=new[key])
        else:
            yield from _diff(old[key], new[key], here)


def _diff_lists(old: list[Any], new: list[Any], path: str) -> Iterator[Change]:
    common = min(len(old), len(new))
    for i in range(common):
        yield from _diff(old[i], new[i], join(path, i))
    for i in range(common, len(new)):
        yield Change("add", join(path, i), new=new[i])
    # Last index first, so applying the removals in order never shifts the next one.
    for i in reversed(range(common, len(old))):
        yield Change("remove", join(path, i), old=old[i])


def _same(old: Any, new: Any) -> bool:
    # True == 1 and 1 == 1.0 in Python, but they are different JSON documents
    # (and different digests), so a change of type is a change.
    return type(old) is type(new) and bool(old == new)
