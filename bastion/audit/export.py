"""The export format: one event per line (JSON), then a trailer line with the head.

The trailer is what lets an offline verifier notice an export cut short: without
it, a file missing its last events would still be a perfectly valid chain.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import IO, Any

from bastion import codec
from bastion.audit.chain import Breach, Verification, verify_events


def write_export(events: Iterable[dict[str, Any]], head: tuple[int, str], out: IO[str]) -> int:
    count = 0
    for row in events:
        row = {**row, "occurred_at": row["occurred_at"].strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
        out.write(codec.dumps_str(row) + "\n")
        count += 1
    out.write(codec.dumps_str({"head": {"seq": head[0], "hash": head[1]}}) + "\n")
    return count


def verify_export(lines: Iterable[str]) -> Verification:
    """Verify an export offline; an export without its trailer is refused."""
    rows: list[dict[str, Any]] = []
    head: tuple[int, str] | None = None
    for doc in _documents(lines):
        if head is not None:
            return Verification(len(rows), 0, Breach(0, None, "lines follow the head trailer"))
        if "head" in doc:
            head = (int(doc["head"]["seq"]), str(doc["head"]["hash"]))
        else:
            rows.append(doc)
    if head is None:
        reason = "the export has no head trailer: it was cut short or is not an export"
        return Verification(0, 0, Breach(len(rows) + 1, None, reason))
    return verify_events(rows, head=head)


def _documents(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    for line in lines:
        if line.strip():
            doc = codec.loads(line)
            if isinstance(doc, dict):
                yield doc
