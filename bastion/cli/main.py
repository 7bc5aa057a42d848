from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from bastion import codec
from bastion.cli import local
from bastion.cli.client import Client
from bastion.cli.credentials import app as credentials
from bastion.cli.output import fail, json, out, report, table
from bastion.cli.users import app as users
from bastion.errors import BastionError
from bastion.settings import Settings

app = typer.Typer(
    help="Bastion: security-first business automation.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
automations = typer.Typer(help="List, show, enable and disable automations.", no_args_is_help=True)
executions = typer.Typer(help="List and show executions.", no_args_is_help=True)
audit = typer.Typer(help="Verify and export the audit log (local).", no_args_is_help=True)
token = typer.Typer(help="Create API tokens (local admin command).", no_args_is_help=True)
keys = typer.Typer(help="Key-encryption key management (local).", no_args_is_help=True)
app.add_typer(automations, name="automations")
app.add_typer(executions, name="executions")
app.add_typer(audit, name="audit")
app.add_typer(token, name="token")
app.add_typer(keys, name="keys")
app.add_typer(users, name="users")
app.add_typer(credentials, name="credentials")


def main() -> None:
    """Run the CLI; a Bastion error becomes its message and exit status, never a traceback."""
    try:
        app()
    except BastionError as exc:
        sys.exit(report(exc.code, exc.message, exc.details))


def _client() -> Client:
    return Client(Settings())


@app.command()
def init() -> None:
    """Create the data directory, the key file and the database."""
    local.init(Settings())


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address")] = None,
    port: Annotated[int | None, typer.Option(help="Port")] = None,
) -> None:
    """Run API, scheduler and workers in one process (embedded mode)."""
    local.serve(Settings(), host, port)


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    local.migrate(Settings())


@app.command()
def schema() -> None:
    """Print the JSON Schema of automation definitions."""
    from bastion.automations import json_schema

    out.print_json(codec.dumps_str(json_schema()))


@app.command()
def apply(
    files: Annotated[list[Path], typer.Argument(help="Definition files (YAML or JSON)")],
) -> None:
    """Validate and apply definitions; each becomes a new immutable version if it changed."""
    client = _client()
    for file in files:
        body = {"source": file.read_text(), "filename": str(file)}
        result = client.call("POST", "/api/v1/automations", json=body)
        out.print(f"{result['name']}: {result['outcome']} (version {result['version']})")


@automations.command("list")
def automations_list() -> None:
    rows = _client().call("GET", "/api/v1/automations")
    table(
        ["name", "version", "trigger", "sensitivity", "owner", "enabled"],
        [
            [r["name"], r["version"], r["trigger"], r["sensitivity"], r["owner"], r["enabled"]]
            for r in rows
        ],
    )


@automations.command("show")
def automations_show(name: str, version: Annotated[int | None, typer.Option()] = None) -> None:
    params = {"version": version} if version else {}
    json(_client().call("GET", f"/api/v1/automations/{name}", params=params))


@automations.command("diff")
def automations_diff(name: str, old: int, new: int) -> None:
    json(_client().call("GET", f"/api/v1/automations/{name}/diff", params={"old": old, "new": new}))


@automations.command("enable")
def automations_enable(name: str) -> None:
    r = _client().call("POST", f"/api/v1/automations/{name}/enable")
    out.print(f"{r['name']}: enabled")


@automations.command("disable")
def automations_disable(name: str) -> None:
    r = _client().call("POST", f"/api/v1/automations/{name}/disable")
    out.print(f"{r['name']}: disabled")


@app.command()
def run(
    name: str,
    input: Annotated[str | None, typer.Option("--input", help="JSON, or @file")] = None,
    wait: Annotated[bool, typer.Option(help="Wait for the result")] = False,
) -> None:
    """Start an execution by hand."""
    payload: Any = None
    if input is not None:
        text = Path(input[1:]).read_text() if input.startswith("@") else input
        try:
            payload = codec.loads(text)
        except codec.JSONDecodeError:
            fail("invalid_input", "--input is not valid JSON")
    body = {"input": payload, "wait": wait}
    json(_client().call("POST", f"/api/v1/automations/{name}/executions", json=body))


@executions.command("list")
def executions_list(
    automation: Annotated[str | None, typer.Option()] = None,
    state: Annotated[str | None, typer.Option()] = None,
) -> None:
    params = {k: v for k, v in {"automation": automation, "state": state}.items() if v}
    rows = _client().call("GET", "/api/v1/executions", params=params)
    table(
        ["id", "state", "trigger", "version", "created", "error"],
        [
            [r["id"], r["state"], r["trigger"], r["version"], r["created_at"], r["error_code"]]
            for r in rows
        ],
    )


@executions.command("show")
def executions_show(execution_id: str) -> None:
    json(_client().call("GET", f"/api/v1/executions/{execution_id}"))


@executions.command("cancel")
def executions_cancel(execution_id: str) -> None:
    json(_client().call("POST", f"/api/v1/executions/{execution_id}/cancel"))


@audit.command("verify")
def audit_verify(
    file: Annotated[Path | None, typer.Option(help="Verify an export offline instead")] = None,
) -> None:
    """Check the hash chain; names the first broken event. Exit status 8 if broken."""
    local.audit_verify(Settings(), file)


@audit.command("export")
def audit_export(file: Annotated[Path, typer.Argument(help="Where to write JSON lines")]) -> None:
    local.audit_export(Settings(), file)


@token.command("create")
def token_create(
    name: Annotated[str, typer.Option(help="What the token is for")],
    scopes: Annotated[str, typer.Option(help="Comma-separated permissions, or '*'")],
    expires: Annotated[str, typer.Option(help="Lifetime, e.g. 90d; 'never' for none")] = "90d",
) -> None:
    """Create an API token; it is printed once and never stored."""
    from bastion.clock import parse_duration

    ttl: timedelta | None = None if expires == "never" else parse_duration(expires)
    local.token_create(Settings(), name, scopes, ttl)


@keys.command("rotate")
def keys_rotate() -> None:
    """Add a new key-encryption key and re-wrap every data key under it."""
    local.keys_rotate(Settings())
