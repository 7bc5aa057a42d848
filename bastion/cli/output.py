"""Rendering and exit codes: one table from error code to exit status."""

from __future__ import annotations

from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bastion import codec

out = Console()
err = Console(stderr=True)

EXIT = {
    "not_found": 3, "automation_not_found": 3, "execution_not_found": 3,
    "unauthenticated": 4, "invalid_token": 4, "forbidden": 4,
    "invalid": 5, "invalid_definition": 5, "invalid_input": 5, "invalid_request": 5,
    "invalid_scopes": 5, "crypto_error": 7, "key_unavailable": 7,
    "conflict": 6, "unavailable": 7, "internal_error": 1,
    "credential_not_found": 3, "grant_not_found": 3, "credential_not_granted": 4,
    "invalid_secret": 5, "invalid_kind": 5, "invalid_name": 5, "invalid_rotation_period": 5,
    "credential_exists": 6, "credential_revoked": 6,
    "invalid_setup_token": 4, "invalid_credentials": 4, "invalid_email": 5, "weak_password": 5,
    "invalid_roles": 5, "email_taken": 6, "mfa_already_enrolled": 6,
}  # fmt: skip


def fail(code: str, message: str, details: Any = None, cid: str | None = None) -> NoReturn:
    raise typer.Exit(report(code, message, details, cid))


def report(code: str, message: str, details: Any = None, cid: str | None = None) -> int:
    """Print an error for a person; returns the exit status for its code."""
    # Messages may quote user input (patterns, names): never interpret them as markup.
    err.print(f"error ({code}): {message}", style="bold red", markup=False, highlight=False)
    for item in details or []:
        if isinstance(item, dict) and "pointer" in item:
            line = f"line {item['line']}, " if item.get("line") else ""
            text = f"  {line}{item['pointer'] or '/'}: {item['message']}"
            err.print(text, markup=False, highlight=False)
    if cid:
        err.print(f"  correlation id: {cid}", markup=False, highlight=False)
    return EXIT.get(code, 1)


def table(columns: list[str], rows: list[list[Any]]) -> None:
    t = Table()
    for name in columns:
        t.add_column(name, overflow="fold")
    for row in rows:
        t.add_row(*("" if v is None else escape(str(v)) for v in row))
    out.print(t)


def json(value: Any) -> None:
    out.print_json(codec.dumps_str(value))
