"""Attaching a leased vault credential to an outbound HTTP request.

The secret is put where its kind says (a header, or the query string only for an
API key defined that way) and nowhere else; it is never written into the URL the
step's definition shows, and every value from a lease is masked by the engine in
whatever it stores. OAuth2 client credentials are exchanged for an access token
through the same guarded client, at the token endpoint the credential names.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlencode

import httpx

from bastion import codec
from bastion.egress import AllowList, EgressFailed, EgressRefused, OutboundClient
from bastion.steps.base import StepFailed
from bastion.vault import Lease


async def attach(
    lease: Lease, headers: httpx.Headers, url: httpx.URL, client: OutboundClient
) -> httpx.URL:
    """Add the credential to ``headers`` (in place) or ``url``; returns the URL to use."""
    values = lease.values()
    kind = str(lease.kind)
    if kind == "bearer":
        headers["Authorization"] = f"Bearer {values['token']}"
    elif kind == "basic":
        pair = f"{values['username']}:{values['password']}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    elif kind == "api_key" and values.get("header"):
        headers[values["header"]] = values["value"]
    elif kind == "api_key":
        url = url.copy_merge_params({values["query"]: values["value"]})
    elif kind == "oauth2_client_credentials":
        headers["Authorization"] = f"Bearer {await _access_token(values, client)}"
    else:
        raise StepFailed(
            f"credential {lease.credential} ({kind}) cannot authenticate an HTTP request",
            code="credential_kind",
        )
    return url


async def _access_token(values: dict[str, Any], client: OutboundClient) -> str:
    form = {"grant_type": "client_credentials"}
    if values.get("scope"):
        form["scope"] = values["scope"]
    pair = f"{values['client_id']}:{values['client_secret']}".encode()
    try:
        response = await client.fetch(
            "POST",
            values["token_url"],
            headers={
                "Authorization": "Basic " + base64.b64encode(pair).decode(),
                "Content-Type": "application/x-www-form-urlencoded",
            },
            content=urlencode(form).encode(),
            allowed_hosts=AllowList.build(literal_urls=(values["token_url"],)),
        )
    except (EgressRefused, EgressFailed) as exc:
        raise StepFailed(f"token endpoint: {exc}", code="token_failed", retryable=True) from None
    if response.status != 200:
        retry = response.status >= 500
        raise StepFailed(
            f"token endpoint answered {response.status}", code="token_failed", retryable=retry
        )
    try:
        token = codec.loads(response.body)["access_token"]
    except (ValueError, KeyError, TypeError):
        raise StepFailed("token endpoint gave no access_token", code="token_failed") from None
    return str(token)
