"""``POST /hooks/{automation}``: the hot path, as a plain Starlette endpoint.

FastAPI's dependency and body machinery is skipped here on purpose: the body is
read once as bytes (bounded), parsed with orjson and validated by the trigger's
own JSON Schema, which is the contract that matters.

The body is read only after ``admit`` has let the request in (the address is
allowed and the rate limits have room), so a refused caller costs no read.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from bastion import codec
from bastion.api.context import current_correlation_id
from bastion.api.errors import error_response
from bastion.errors import BastionError
from bastion.triggers.webhook import BodyTooLarge


async def receive_hook(request: Request) -> Response:
    svc = request.app.state.services
    ip = request.client.host if request.client else None
    cid = current_correlation_id()
    try:
        current = await svc.webhooks.admit(
            request.path_params["automation"], ip=ip, correlation_id=cid
        )
        body = await _bounded_body(request, svc.settings.webhook_max_body_bytes)
        outcome = await svc.webhooks.accept(
            current, body, request.headers.get("content-type"), ip=ip, correlation_id=cid
        )
    except BastionError as exc:
        return error_response(exc)
    return Response(codec.dumps(outcome.body), outcome.status, media_type="application/json")


async def _bounded_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"body exceeds {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"body exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
