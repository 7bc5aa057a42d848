"""The HTTP API (FastAPI): thin routes over the services, errors mapped once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from bastion import __version__
from bastion.api import errors
from bastion.api.auth import AuthenticateMiddleware
from bastion.api.context import CorrelationMiddleware
from bastion.api.hooks import receive_hook
from bastion.api.routes import audit, automations, credentials, executions
from bastion.api.throttling import PrincipalRateLimit, SourceRateLimit


def create_api(services: Any, *, lifespan: Callable[..., Any] | None = None) -> FastAPI:
    app = FastAPI(
        title="Bastion",
        version=__version__,
        description="Bastion API. Every route except /healthz and /hooks needs a token.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = services
    errors.install(app)
    app.include_router(automations.router)
    app.include_router(executions.router)
    app.include_router(audit.router)
    app.include_router(credentials.router)
    app.add_route("/hooks/{automation}", receive_hook, methods=["POST"], include_in_schema=False)
    app.add_api_route("/healthz", _health, methods=["GET"], tags=["health"])
    app.add_middleware(PrincipalRateLimit)  # once the caller is known: per token
    app.add_middleware(AuthenticateMiddleware)
    app.add_middleware(SourceRateLimit)  # before authentication: guesses cost the source
    app.add_middleware(CorrelationMiddleware)  # outermost: every response carries its id
    return app


async def _health() -> dict[str, str]:
    return {"status": "ok"}
