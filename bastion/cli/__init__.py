"""The ``bastion`` command (Typer + Rich): a thin client of the API, plus the few
local commands that must work without a running server (init, serve, migrate,
keys, token, audit verify/export)."""

from bastion.cli.main import app, main

__all__ = ["app", "main"]
