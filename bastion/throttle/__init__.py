"""Rate limits (API-2): how many requests a key may make per window, and who a source is.

One ``Throttle`` per process, built from Settings by the composition root. Its
counts live in memory (embedded mode) or in Redis (scale-out: every replica that
uses the same Redis URL and key prefix shares them). When Redis fails, every
check raises ``RateLimitUnavailable``: callers refuse the request (503) instead
of letting it through uncounted.
"""

from bastion.throttle.errors import RateLimitUnavailable
from bastion.throttle.rates import MAX_AMOUNT, describe, parse_limit
from bastion.throttle.service import Throttle, Window
from bastion.throttle.sources import parse_network, parse_source, source_key

__all__ = [
    "MAX_AMOUNT",
    "RateLimitUnavailable",
    "Throttle",
    "Window",
    "describe",
    "parse_limit",
    "parse_network",
    "parse_source",
    "source_key",
]
