"""Commands that work on the local store directly (no server needed)."""

from __future__ import annotations

import getpass
from datetime import timedelta
from pathlib import Path

import typer

from bastion import codec
from bastion.app import build, load_keyring
from bastion.audit import Actor, AuditEvent, AuditTag, verify_events
from bastion.authz import parse_scopes
from bastion.cli.output import err, fail, out
from bastion.crypto import KeyFile
from bastion.settings import Settings
from bastion.store.datakeys import count_by_kek, rewrap


def _operator() -> Actor:
    return Actor("cli", None, getpass.getuser())


def init(settings: Settings) -> None:
    services = build(settings)
    out.print(f"data directory: {settings.data_dir.resolve()}")
    out.print(f"database: {services.db.url.split('///')[0]}///...")
    if settings.master_key is None:
        out.print(f"key file: {settings.key_file.resolve()} (mode 0600; back it up separately)")
    out.print("next: bastion token create --name me --scopes '*'  then  bastion serve")


def serve(settings: Settings, host: str | None, port: int | None) -> None:
    from bastion.app import serve as run_server

    updates = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    run_server(settings.model_copy(update=updates))


def migrate(settings: Settings) -> None:
    build(settings)
    out.print("database is up to date")


def token_create(settings: Settings, name: str, scopes: str, ttl: timedelta | None) -> None:
    services = build(settings)
    created = services.tokens.create(name, parse_scopes(scopes), _operator(), ttl=ttl)
    err.print(f"token {created.name!r} created; it is shown once, store it now:")
    out.print(created.token, highlight=False)


def audit_verify(settings: Settings, file: Path | None) -> None:
    if file is not None:
        with file.open() as fh:
            result = verify_events(codec.loads(line) for line in fh if line.strip())
    else:
        result = build(settings).audit.verify()
    if result.ok:
        out.print(f"audit chain intact: {result.checked} events verified (up to {result.last_seq})")
        return
    breach = result.breach
    assert breach is not None
    err.print(f"[bold red]audit chain broken[/] at event {breach.seq} ({breach.event_id}): {breach.reason}")
    err.print(f"events 1..{result.last_seq} verified before the break")
    raise typer.Exit(8)


def audit_export(settings: Settings, file: Path) -> None:
    count = 0
    with file.open("w") as fh:
        for row in build(settings).audit.export():
            row["occurred_at"] = row["occurred_at"].strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            fh.write(codec.dumps_str(row) + "\n")
            count += 1
    out.print(f"{count} events written to {file}")


def keys_rotate(settings: Settings) -> None:
    if settings.master_key is not None:
        fail("invalid", "the key comes from BASTION_MASTER_KEY; rotate it with a key file instead")
    services = build(settings)
    key_file = KeyFile(settings.key_file)
    ring = services.keyring
    stale = {k for k, n in count_by_kek(services.db).items() if k != ring.active and n}
    if not stale:  # nothing half-done from an earlier run: start a new rotation
        new = key_file.add_key()
        out.print(f"new key-encryption key {new} is active")
    ring = load_keyring(settings)
    count = rewrap(services.db, ring)
    for old in [k for k in ring.keys if k != ring.active]:
        key_file.retire(old)
    with services.db.transaction() as session:
        services.audit.record(
            session,
            AuditEvent(AuditTag.KEYS_ROTATED, _operator(), data={"active": ring.active, "rewrapped": count}),
        )
    out.print(f"re-wrapped {count} data keys; old keys retired")
