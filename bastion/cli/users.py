"""``bastion users``: people who sign in, managed on the server (local commands).

Passwords and setup tokens are never taken from the command line when it can be
avoided (other users see argv in ``ps``): they are asked for without echo.
"""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from bastion.app import Services, build
from bastion.audit import Actor
from bastion.authz import parse_roles
from bastion.cli.output import err, fail, out, table
from bastion.settings import Settings

app = typer.Typer(help="People who sign in (local admin commands).", no_args_is_help=True)
Roles = Annotated[list[str], typer.Option("--role", help="A role; repeat for several")]


def _operator() -> Actor:
    return Actor("cli", None, getpass.getuser())


def _new_password() -> str:
    first = getpass.getpass("password (12 characters or more): ")
    if getpass.getpass("the same again: ") != first:
        fail("invalid", "the two passwords differ")
    return first


def print_setup_token(services: Services) -> None:
    """For ``bastion init``: while nobody can sign in, a fresh one-time setup token."""
    issued = services.identity.users.issue_setup_token(_operator())
    if issued is None:
        return
    out.print(f"setup token (single use, until {issued.expires_at:%Y-%m-%d %H:%M} UTC):")
    out.print(f"  {issued.token}", highlight=False)
    out.print("make the first administrator with: bastion users setup --email you@example.com")


@app.command("setup")
def setup(
    email: Annotated[str, typer.Option(help="The first administrator's address")],
    token: Annotated[
        str | None, typer.Argument(help="From bastion init; asked for if left out")
    ] = None,
) -> None:
    """Make the first administrator with the setup token printed by bastion init."""
    token = token or getpass.getpass("setup token: ")
    password = _new_password()
    user = build(Settings()).identity.users.setup_first_admin(token, email, password)
    out.print(f"administrator {user.email} created; sign in to enrol an authenticator")


@app.command("create")
def create(email: str, role: Roles) -> None:
    """Make a user with the given roles; their password is asked for here."""
    roles = parse_roles(role)
    user = build(Settings()).identity.users.create(email, _new_password(), roles, _operator())
    out.print(f"user {user.email} created ({', '.join(user.roles) or 'no roles'})")


@app.command("list")
def list_users() -> None:
    rows = build(Settings()).identity.users.list()
    table(
        ["id", "email", "status", "roles", "mfa", "last login"],
        [
            [u.id, u.email, u.status, ",".join(u.roles), u.mfa_enrolled, u.last_login_at]
            for u in rows
        ],
    )


@app.command("roles")
def roles(user_id: str, role: Roles) -> None:
    """Replace a user's roles; their sessions end."""
    build(Settings()).identity.users.set_roles(user_id, parse_roles(role), _operator())
    err.print("roles replaced; the user's sessions have ended")


@app.command("disable")
def disable(user_id: str) -> None:
    """Disable a user and end all their sessions."""
    build(Settings()).identity.users.disable(user_id, _operator())
    err.print("user disabled; their sessions have ended")


@app.command("enable")
def enable(user_id: str) -> None:
    build(Settings()).identity.users.enable(user_id, _operator())
    err.print("user enabled")


@app.command("reset-mfa")
def reset_mfa(user_id: str) -> None:
    """Remove a lost authenticator; the user enrols again at the next sign-in."""
    build(Settings()).identity.mfa.reset(user_id, _operator())
    err.print("authenticator and recovery codes removed; the user's sessions have ended")


@app.command("logout")
def logout(user_id: str) -> None:
    """End every session of a user ("log out everywhere")."""
    count = build(Settings()).sessions.revoke_all(user_id, _operator())
    err.print(f"{count} session(s) ended")
