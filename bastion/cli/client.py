"""A small API client for the CLI: ``BASTION_URL`` + ``BASTION_TOKEN``."""

from __future__ import annotations

from typing import Any

import httpx

from bastion.cli.output import fail
from bastion.settings import Settings


class Client:
    def __init__(self, settings: Settings) -> None:
        if settings.token is None:
            fail("unauthenticated", "set BASTION_TOKEN (create one with: bastion token create)")
        headers = {"Authorization": f"Bearer {settings.token.get_secret_value()}"}
        self._http = httpx.Client(base_url=settings.url, headers=headers, timeout=330)

    def call(self, method: str, path: str, **kw: Any) -> Any:
        try:
            response = self._http.request(method, path, **kw)
        except httpx.HTTPError as exc:
            fail("unavailable", f"cannot reach the Bastion API ({type(exc).__name__})")
        if response.status_code >= 400:
            body = _json(response)
            fail(
                body.get("code", "error"),
                body.get("message", f"HTTP {response.status_code}"),
                body.get("details"),
                body.get("correlation_id"),
            )
        return response.json()


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
