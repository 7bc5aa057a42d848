"""Fallback load generator for bench/webhook.py when ``wrk`` is not installed.

Closed loop like wrk: ``--concurrency`` keep-alive connections, each sends a POST,
waits for the whole response, records the latency and sends the next one, until
``--duration`` seconds have passed; requests still in flight then are not counted.
Raw asyncio streams and a minimal HTTP/1.1 client (uvloop when importable), so the
generator costs far less CPU per request than the servers it measures.

Prints one line ``BENCHJSON {...}`` with the same fields as bench/wrk_post.lua.
Only loopback targets are accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(
        default_factory=lambda: {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0}
    )


class ResponseError(Exception):
    """The server closed the connection or sent something this client cannot read."""


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one response; returns (status, keep_alive). Handles Content-Length and chunked."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise ResponseError(f"bad status line {lines[0]!r}")
    status = int(parts[1])
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip().lower()
    if headers.get("transfer-encoding") == "chunked":
        await _read_chunked(reader)
    else:
        await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers.get("connection") != "close"


async def _read_chunked(reader: asyncio.StreamReader) -> None:
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
        await reader.readexactly(size + 2)
        if size == 0:
            return


async def connection(
    host: str, port: int, request: bytes, until: float, timeout: float, t: Tally
) -> None:
    """One closed-loop connection; reconnects after an error until the deadline."""
    loop = asyncio.get_running_loop()
    while loop.time() < until:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        except (OSError, TimeoutError):
            t.errors["connect"] += 1
            await asyncio.sleep(0.05)
            continue
        try:
            await _exchange(reader, writer, request, until, timeout, t)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


async def _exchange(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    request: bytes,
    until: float,
    timeout: float,
    t: Tally,
) -> None:
    loop = asyncio.get_running_loop()
    while loop.time() < until:
        start = time.perf_counter()
        try:
            writer.write(request)
        except OSError:
            t.errors["write"] += 1
            return
        try:
            status, keep = await asyncio.wait_for(read_response(reader), timeout)
        except TimeoutError:
            t.errors["timeout"] += 1
            return
        except (OSError, ResponseError, ValueError, asyncio.IncompleteReadError):
            t.errors["read"] += 1
            return
        t.latencies.append(time.perf_counter() - start)
        if not 200 <= status < 400:
            t.errors["status"] += 1
        if not keep:
            return


def percentile(ordered: list[float], pct: float) -> float:
    if not ordered:
        return 0.0
    rank = max(0, math.ceil(pct / 100 * len(ordered)) - 1)
    return ordered[min(rank, len(ordered) - 1)]


async def run(
    url: str, body: bytes, concurrency: int, duration: float, timeout: float
) -> dict[str, Any]:
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 80
    if host not in LOOPBACK:
        raise SystemExit(f"refusing to load {host!r}: only loopback targets are allowed")
    path = parts.path or "/"
    request = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode("latin-1") + body
    tally = Tally()
    loop = asyncio.get_running_loop()
    start = loop.time()
    until = start + duration
    tasks = [
        asyncio.create_task(connection(host, port, request, until, timeout, tally))
        for _ in range(concurrency)
    ]
    # Like wrk: stop at the deadline and drop whatever is still in flight.
    _done, pending = await asyncio.wait(tasks, timeout=duration)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    elapsed = loop.time() - start
    return summary(tally, elapsed)


def summary(t: Tally, elapsed: float) -> dict[str, Any]:
    lat = sorted(t.latencies)
    ms = 1000.0
    return {
        "requests": len(lat),
        "duration_s": round(elapsed, 3),
        "rps": round(len(lat) / elapsed, 1) if elapsed > 0 else 0.0,
        "p50_ms": round(percentile(lat, 50) * ms, 3),
        "p90_ms": round(percentile(lat, 90) * ms, 3),
        "p99_ms": round(percentile(lat, 99) * ms, 3),
        "max_ms": round((lat[-1] if lat else 0.0) * ms, 3),
        "mean_ms": round((sum(lat) / len(lat) if lat else 0.0) * ms, 3),
        "errors": t.errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--body", required=True, help="file holding the JSON request body")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--timeout", type=float, default=10.0, help="per request, seconds")
    args = parser.parse_args()
    with open(args.body, "rb") as fh:
        body = fh.read()
    job = run(args.url, body, args.concurrency, args.duration, args.timeout)
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(job)
    else:
        result = uvloop.run(job)
    print("BENCHJSON " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
