"""Rate-limit strings: ``100/second``, ``600/minute``, ``10 per 5 seconds``."""

from __future__ import annotations

from functools import lru_cache

from limits import RateLimitItem, parse_many

MAX_AMOUNT = 100_000  # the moving window keeps one entry per counted request
_EXAMPLES = "100/second, 600/minute or 10 per 5 seconds"


@lru_cache(maxsize=1024)
def parse_limit(text: str) -> RateLimitItem:
    """The one limit ``text`` names.

    Raises ValueError, with a message meant for whoever wrote the value, when the
    text is not exactly one limit of 1 to ``MAX_AMOUNT`` requests per window.
    """
    try:
        items = parse_many(text) if len(text) <= 64 else []
    except ValueError:
        items = []
    if len(items) != 1:
        raise ValueError(f"{text!r} is not one rate limit like {_EXAMPLES}")
    item = items[0]
    if not 1 <= item.amount <= MAX_AMOUNT:
        raise ValueError(
            f"{text!r} allows {item.amount} requests per window: give 1 to {MAX_AMOUNT} "
            "(for more, use a shorter window)"
        )
    return item


def describe(item: RateLimitItem) -> str:
    """``100 per second``, ``10 per 5 seconds``: the limit in words, for messages."""
    unit = item.GRANULARITY.name
    window = unit if item.multiples == 1 else f"{item.multiples} {unit}s"
    return f"{item.amount} per {window}"
