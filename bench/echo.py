"""Baseline for bench/webhook.py: the benchmark contract as a bare Starlette app.

    POST /bench  (JSON body)  ->  200 {"body": <the request JSON>, "processed": true}

No persistence, no validation, no auth: the ceiling of a Python ASGI stack on this
machine. Run it the way webhook.py does (one worker, uvloop, httptools)::

    uvicorn echo:app --app-dir bench --host 127.0.0.1 --port 8801 --workers 1 \
        --loop uvloop --http httptools --no-access-log
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def echo(request: Request) -> JSONResponse:
    payload = await request.json()
    return JSONResponse({"body": payload, "processed": True})


app = Starlette(routes=[Route("/bench", echo, methods=["POST"])])
