from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from bastion import codec


class JSONBytes(JSONResponse):
    """A JSON response rendered by orjson (datetimes, UUIDs and speed included)."""

    def render(self, content: Any) -> bytes:
        return codec.dumps(content)
