"""The throttle's own error: its shared storage does not answer."""

from __future__ import annotations

from bastion.errors import Unavailable


class RateLimitUnavailable(Unavailable):
    """The rate-limit storage (Redis) failed or timed out. Callers refuse the request
    (503) rather than let it through uncounted: a limit that an outage can switch
    off is no limit."""

    code = "rate_limit_unavailable"
