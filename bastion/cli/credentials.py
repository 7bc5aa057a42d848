"""``bastion credentials``: the vault from the command line.

Secret values are never taken from the command line (other users see argv in
``ps``): they come from ``--value-file`` (a file, or ``-`` for standard input) or
from a prompt that does not echo. Only a kind's public fields (a header name, a
username, a host) may be given with ``--field``.

Granting is a local command, run on the server like ``bastion token create``:
letting an automation use a credential is reserved to a person, never an API token.
"""

from __future__ import annotations

import getpass
import stat
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from bastion import codec
from bastion.audit import Actor
from bastion.cli.client import Client
from bastion.cli.output import err, fail, json, out, table
from bastion.settings import Settings
from bastion.vault import Kind, parse_kind, secret_fields

app = typer.Typer(
    help="Credentials in the vault: values go in, never come out.", no_args_is_help=True
)
BASE = "/api/v1/credentials"

Fields = Annotated[
    list[str] | None,
    typer.Option("--field", help="A public field as name=value, e.g. header=X-Api-Key"),
]
ValueFile = Annotated[
    Path | None,
    typer.Option(help="JSON object of the secret fields, or the bare value; '-' reads stdin"),
]


def _client() -> Client:
    return Client(Settings())


@app.command("create")
def create(
    name: str,
    kind: Annotated[str, typer.Option(help=f"One of: {', '.join(k.value for k in Kind)}")],
    field: Fields = None,
    value_file: ValueFile = None,
    description: Annotated[str | None, typer.Option()] = None,
    rotation_days: Annotated[int | None, typer.Option(help="Rotation period in days")] = None,
) -> None:
    """Store a new credential. The value is asked for without echo unless --value-file."""
    parsed = parse_kind(kind)
    body = {
        "name": name, "kind": parsed.value, "description": description,
        "rotation_period_days": rotation_days, "secret": _secret(parsed, field, value_file, {}),
    }  # fmt: skip
    r = _client().call("POST", BASE, json=body)
    out.print(f"credential {r['name']} created ({r['kind']}, version {r['version']})")


@app.command("rotate")
def rotate(name: str, field: Fields = None, value_file: ValueFile = None) -> None:
    """Store a new version; the previous one stays valid for the grace period."""
    client = _client()
    current = client.call("GET", f"{BASE}/{name}")
    kind = parse_kind(current["kind"])
    public = {k: v for k, v in current["public"].items() if k not in secret_fields(kind)}
    secret = _secret(kind, field, value_file, public)
    r = client.call("POST", f"{BASE}/{name}/rotate", json={"secret": secret})
    out.print(f"credential {r['name']} rotated to version {r['version']}")


@app.command("list")
def list_credentials() -> None:
    rows = _client().call("GET", BASE)
    table(
        ["name", "kind", "version", "rotated", "due", "revoked"],
        [[r["name"], r["kind"], r["version"], r["rotated_at"], r["due_at"], r["revoked_at"]]
         for r in rows],
    )  # fmt: skip


@app.command("show")
def show(name: str) -> None:
    """Metadata, public fields, versions and grants (never a secret value)."""
    json(_client().call("GET", f"{BASE}/{name}"))


@app.command("revoke")
def revoke(name: str) -> None:
    """No automation can use it any more."""
    r = _client().call("POST", f"{BASE}/{name}/revoke")
    out.print(f"credential {r['name']} revoked")


@app.command("due")
def due() -> None:
    """Rotations that are overdue or due soon."""
    rows = _client().call("GET", f"{BASE}/due")
    table(
        ["name", "kind", "status", "due", "rotated"],
        [[r["name"], r["kind"], r["status"], r["due_at"], r["rotated_at"]] for r in rows],
    )


@app.command("grant")
def grant(
    name: str,
    automation: str,
    revoke: Annotated[bool, typer.Option("--revoke", help="Take the grant back")] = False,
) -> None:
    """Let AUTOMATION lease credential NAME at run time (local admin command)."""
    from bastion.app import build

    vault = build(Settings()).vault
    actor = Actor("cli", None, getpass.getuser())
    if revoke:
        vault.revoke_grant(name, automation, actor)
        out.print(f"{automation} may no longer use {name}")
    else:
        vault.grant(name, automation, actor)
        out.print(f"{automation} may use {name}")


def _secret(
    kind: Kind, fields: list[str] | None, value_file: Path | None, known: dict[str, Any]
) -> dict[str, Any]:
    secret_names = secret_fields(kind)
    data = {**known, **_public(fields or [], secret_names)}
    if value_file is not None:
        data.update(_from_file(value_file, secret_names))
    for name in secret_names:
        if name not in data:
            data[name] = typer.prompt(f"{name}", hide_input=True, confirmation_prompt=True)
    return data


def _public(fields: list[str], secret_names: list[str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for item in fields:
        key, sep, value = item.partition("=")
        if not sep:
            fail("invalid_input", f"--field {key!r} is not name=value")
        if key in secret_names:
            fail("invalid_input", f"{key} is secret: give it in --value-file or at the prompt, "
                 "never on the command line")  # fmt: skip
        data[key] = int(value) if key == "port" and value.isdigit() else value
    return data


def _from_file(path: Path, secret_names: list[str]) -> dict[str, Any]:
    if str(path) == "-":
        text = sys.stdin.read()
    else:
        if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            err.print(f"warning: {path} is readable by other users", markup=False)
        text = path.read_text()
    try:
        loaded = codec.loads(text)
    except codec.JSONDecodeError:
        loaded = None
    if isinstance(loaded, dict):
        return loaded
    if len(secret_names) != 1:
        fail(
            "invalid_input", f"the value file must be a JSON object with {', '.join(secret_names)}"
        )
    return {secret_names[0]: text.removesuffix("\n").removesuffix("\r")}
