"""The export format: events then a head trailer, verifiable offline without keys."""

from __future__ import annotations

import io

from bastion import codec
from bastion.app import Services
from bastion.audit import Actor, AuditEvent, AuditTag, verify_export


def record(services: Services, n: int) -> None:
    with services.db.transaction() as session:
        for i in range(n):
            event = AuditEvent(AuditTag.TOKEN_CREATED, Actor("cli", None, "t"), data={"i": i})
            services.audit.record(session, event)


def export(services: Services) -> list[str]:
    buffer = io.StringIO()
    assert services.audit.export_to(buffer) == 4
    return buffer.getvalue().splitlines()


def test_an_export_ends_with_its_head_and_verifies(services: Services) -> None:
    record(services, 4)
    lines = export(services)
    assert codec.loads(lines[-1]) == {"head": {"seq": 4, "hash": services.audit.head()[1]}}
    result = verify_export(lines)
    assert (result.ok, result.checked) == (True, 4)


def test_an_export_without_its_trailer_is_refused(services: Services) -> None:
    record(services, 4)
    result = verify_export(export(services)[:-2])
    assert not result.ok
    assert result.breach is not None and "head trailer" in result.breach.reason


def test_a_cut_export_with_its_trailer_kept_is_caught(services: Services) -> None:
    record(services, 4)
    lines = export(services)
    result = verify_export([*lines[:3], lines[-1]])
    assert not result.ok
    assert result.breach is not None and result.breach.seq == 4


def test_lines_after_the_trailer_are_refused(services: Services) -> None:
    record(services, 4)
    lines = export(services)
    result = verify_export([*lines, lines[0]])
    assert not result.ok
