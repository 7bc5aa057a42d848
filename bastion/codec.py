"""JSON in one place: fast (orjson) and canonical where a hash depends on it."""

from __future__ import annotations

from typing import Any

import orjson

JSONDecodeError = orjson.JSONDecodeError


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def dumps_str(value: Any) -> str:
    return dumps(value).decode()


def loads(data: bytes | str) -> Any:
    return orjson.loads(data)


def canonical(value: Any) -> bytes:
    """A canonical encoding: sorted keys, no whitespace, UTF-8.

    Hash chains and definition digests are computed over this, so it must never
    change for the same value. (RFC 8785 differs only in float formatting, which
    these structures do not use for identity.)
    """
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
