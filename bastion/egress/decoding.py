"""Reading a response body under a size cap counted after decompression (API-3).

httpx's own decoders inflate a whole network chunk at once, so a 64 KiB chunk of
a gzip bomb can become 64 MiB before anyone counts it. Here the compressed bytes
are inflated with zlib's ``max_length``, never producing more than the bytes
still allowed, so memory stays bounded by the cap. Only the encodings Bastion
asks for (``gzip``, ``deflate``) are accepted.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import AsyncIterator, Mapping
from typing import Protocol

from bastion.egress.errors import EgressFailed, Failure

ACCEPT_ENCODING = "gzip, deflate"
_DIGITS = re.compile(r"^[0-9]{1,20}$")
_AUTO = 32 + zlib.MAX_WBITS  # zlib or gzip framing, detected from the header


class _Decoder(Protocol):
    def decode(self, data: bytes, limit: int) -> bytes: ...

    def finish(self) -> None: ...


class _Identity:
    def decode(self, data: bytes, limit: int) -> bytes:
        return data

    def finish(self) -> None:
        return None


class _Inflate:
    def __init__(self) -> None:
        self._z = zlib.decompressobj(_AUTO)
        self._fed = False

    def decode(self, data: bytes, limit: int) -> bytes:
        """At most ``limit`` bytes of output. The caller passes one byte more than it
        still accepts, so reaching ``limit`` ends the read and unread input can go."""
        self._fed = self._fed or bool(data)
        out = bytearray()
        while not self._z.eof and len(out) < limit:
            before = len(data)
            chunk = self._z.decompress(data, limit - len(out))
            data = self._z.unconsumed_tail
            out += chunk
            if not chunk and len(data) in (0, before):
                break
        return bytes(out)

    def finish(self) -> None:
        if self._fed and not self._z.eof:
            raise zlib.error("the compressed body ends early")


async def read_capped(
    chunks: AsyncIterator[bytes], headers: Mapping[str, str], max_bytes: int, where: str
) -> bytes:
    """The decoded body of a response, from its raw ``chunks``.

    Raises EgressFailed ``response_too_large`` past ``max_bytes`` (declared or
    decoded) and ``invalid_response`` for an unknown or broken content encoding.
    """
    too_large = EgressFailed(
        Failure.RESPONSE_TOO_LARGE, f"{where}: response body exceeds {max_bytes} bytes"
    )
    declared = headers.get("content-length", "")
    if _DIGITS.match(declared) and int(declared) > max_bytes:
        raise too_large
    decoder = _decoder(headers.get("content-encoding", ""), where)
    body = bytearray()
    try:
        async for raw in chunks:
            body += decoder.decode(raw, max_bytes + 1 - len(body))
            if len(body) > max_bytes:
                raise too_large
        body += decoder.decode(b"", max_bytes + 1 - len(body))  # whatever zlib still holds
        if len(body) > max_bytes:
            raise too_large
        decoder.finish()
    except zlib.error:
        message = f"{where}: the response body could not be decoded"
        raise EgressFailed(Failure.INVALID_RESPONSE, message) from None
    return bytes(body)


def _decoder(encoding: str, where: str) -> _Decoder:
    value = encoding.strip().lower()
    if value in ("", "identity"):
        return _Identity()
    if value in ("gzip", "x-gzip", "deflate"):
        return _Inflate()
    message = f"{where}: the response uses an unsupported content encoding {value[:40]!r}"
    raise EgressFailed(Failure.INVALID_RESPONSE, message)
