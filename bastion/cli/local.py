"""Commands that work on the local store directly (no server needed)."""

from __future__ import annotations

import getpass
import os
from datetime import timedelta
from pathlib import Path

import typer

from bastion.app import build, rotate_keys
from bastion.audit import Actor, verify_export
from bastion.authz import parse_scopes
from bastion.cli.output import err, fail, out
from bastion.cli.users import print_setup_token
from bastion.settings import Settings


def _operator() -> Actor:
    return Actor("cli", None, getpass.getuser())


def init(settings: Settings) -> None:
    services = build(settings)
    out.print(f"data directory: {settings.data_dir.resolve()}")
    where = services.db.url if services.db.is_sqlite else services.db.url.split("@")[-1]
    out.print(f"database: {where}")
    if settings.master_key is None:
        out.print(f"key file: {settings.key_file.resolve()} (mode 0600; back it up separately)")
    out.print("next: bastion token create --name me --scopes '*'  then  bastion serve")
    print_setup_token(services)


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
            result = verify_export(fh)
    else:
        result = build(settings).audit.verify()
    if result.ok:
        out.print(f"audit chain intact: {result.checked} events verified (up to {result.last_seq})")
        return
    breach = result.breach
    assert breach is not None
    where = f"event {breach.seq} ({breach.event_id})"
    err.print(f"audit chain broken at {where}: {breach.reason}", style="bold red", markup=False)
    err.print(f"events 1..{result.last_seq} verified before the break")
    raise typer.Exit(8)


def audit_export(settings: Settings, file: Path) -> None:
    with open(os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as fh:
        count = build(settings).audit.export_to(fh)
    out.print(f"{count} events written to {file}")


def keys_rotate(settings: Settings) -> None:
    if settings.master_key is not None:
        fail("invalid", "the key comes from BASTION_MASTER_KEY; rotate it with a key file instead")
    result = rotate_keys(settings, _operator())
    if result.started:
        out.print(f"new key-encryption key {result.active} is active")
    retired = ", ".join(result.retired) or "-"
    out.print(f"re-wrapped {result.rewrapped} data keys; retired {retired}")
