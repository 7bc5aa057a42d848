"""The ``Throttle``: moving-window rate limits over ``limits``, in memory or in Redis.

Why a moving window: it counts every request of the last window exactly, so a
limit of N per T is never exceeded over any span of T. A fixed window allows up to
2N around a window's edge (N at its end, N more at the start of the next), which is
the burst a flood is timed to use. The cost is one stored entry per counted
request, bounded by the limit (``rates.MAX_AMOUNT``) and expiring with the window;
refused requests store nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

import redis
from limits import RateLimitItem
from limits.errors import StorageError
from limits.storage import RedisStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from bastion.errors import Invalid, RateLimited
from bastion.settings import Settings
from bastion.throttle.errors import RateLimitUnavailable
from bastion.throttle.rates import describe, parse_limit

log = logging.getLogger(__name__)

T = TypeVar("T")

LOCAL = "memory"
SHARED = ("redis", "rediss", "redis+unix")
# The default limits in Settings, checked when the throttle is built so that a typo
# stops the server at start instead of at the first request.
LIMIT_SETTINGS = (
    "api_rate_limit_per_token",
    "api_rate_limit_per_ip",
    "webhook_rate_limit",
    "webhook_source_rate_limit",
)
_WARN_EVERY = 10.0  # seconds between two log lines about a failing storage


@dataclass(frozen=True)
class Window:
    """Where a limit stands: requests left in the window, and seconds until one frees."""

    remaining: int
    resets_in: float


class Throttle:
    """Counts requests per key against limits such as ``"100/second"``.

    Keys are strings naming what is counted, e.g. ``("api", "ip", "192.0.2.7")``.
    With ``memory://`` the counts live in this process; with a Redis URL every
    process using the same URL and ``key_prefix`` shares them.
    """

    def __init__(
        self, storage: str = "memory://", *, key_prefix: str = "bastion", timeout: float = 0.5
    ) -> None:
        scheme = urlsplit(storage).scheme
        if scheme != LOCAL and scheme not in SHARED:
            raise Invalid(
                f"rate-limit storage must be memory:// or a redis:// URL, not {scheme or '?'}://"
            )
        self.shared = scheme != LOCAL
        options: dict[str, float | str | bool] = {}
        if self.shared:  # every Redis call gives up after ``timeout``: fail fast, then closed
            options = {"key_prefix": key_prefix, "socket_timeout": timeout,
                       "socket_connect_timeout": timeout}  # fmt: skip
        try:
            made = storage_from_string(storage, wrap_exceptions=True, **options)
        except ValueError:
            # Never echo the URL: it may carry the Redis password.
            raise Invalid(f"the rate-limit storage URL ({scheme}://...) is not valid") from None
        assert isinstance(made, Storage)
        self._storage: Storage = made
        self._limiter = MovingWindowRateLimiter(made)
        self._warned_at = -_WARN_EVERY

    @classmethod
    def from_settings(cls, settings: Settings) -> Throttle:
        """The throttle the settings describe. Raises Invalid naming the variable when a
        default limit or the storage URL is unusable."""
        for name in LIMIT_SETTINGS:
            try:
                parse_limit(getattr(settings, name))
            except ValueError as exc:
                raise Invalid(f"BASTION_{name.upper()}: {exc}") from None
        return cls(
            settings.rate_limit_storage,
            key_prefix=settings.rate_limit_key_prefix,
            timeout=settings.rate_limit_timeout_seconds,
        )

    def hit(self, limit: str, *keys: str, what: str = "requests") -> None:
        """Count one request against ``limit`` for ``keys``.

        Raises RateLimited (with ``resets_in``) when the window is full, in which case
        nothing is counted; RateLimitUnavailable when the storage fails; ValueError
        when ``limit`` is not a rate limit.
        """
        item = parse_limit(limit)
        if self._guarded(self._limiter.hit, item, *keys):
            return
        window = self._window(item, keys)
        raise RateLimited(
            f"too many {what}: at most {describe(item)}; "
            f"try again in {max(1, int(window.resets_in + 0.999))} s",
            resets_in=window.resets_in,
        )

    def allow(self, limit: str, *keys: str) -> bool:
        """Like ``hit``, as a value: True (and counted) when under the limit, False
        (nothing counted) when over. Raises RateLimitUnavailable."""
        return self._guarded(self._limiter.hit, parse_limit(limit), *keys)

    def test(self, limit: str, *keys: str) -> bool:
        """Whether a request would be let through now, without counting one.
        Raises RateLimitUnavailable."""
        return self._guarded(self._limiter.test, parse_limit(limit), *keys)

    def window(self, limit: str, *keys: str) -> Window:
        """How much of ``limit`` is left for ``keys``, without counting a request."""
        return self._window(parse_limit(limit), keys)

    async def hit_async(self, limit: str, *keys: str, what: str = "requests") -> None:
        """``hit`` for the event loop: a Redis round trip runs in a worker thread, so a
        slow or unreachable Redis never stalls other requests."""
        await self._offload(lambda: self.hit(limit, *keys, what=what))

    async def allow_async(self, limit: str, *keys: str) -> bool:
        """``allow`` for the event loop (see ``hit_async``)."""
        return await self._offload(lambda: self.allow(limit, *keys))

    def close(self) -> None:
        """Release the Redis connections, if any."""
        if isinstance(self._storage, RedisStorage):
            client = self._storage.get_connection()
            assert isinstance(client, redis.Redis)
            client.close()

    async def _offload(self, call: Callable[[], T]) -> T:
        if self.shared:
            return await asyncio.to_thread(call)
        return call()  # in memory: microseconds under a lock, cheaper than a thread hop

    def _window(self, item: RateLimitItem, keys: tuple[str, ...]) -> Window:
        stats = self._guarded(self._limiter.get_window_stats, item, *keys)
        return Window(stats.remaining, max(0.0, stats.reset_time - time.time()))

    def _guarded(self, call: Callable[..., T], item: RateLimitItem, *keys: str) -> T:
        try:
            return call(item, *keys)
        except StorageError as exc:
            self._warn(exc)
            raise RateLimitUnavailable(
                "rate limiting is unavailable (its storage does not answer); "
                "requests are refused until it is back"
            ) from None

    def _warn(self, exc: StorageError) -> None:
        now = time.monotonic()
        if now - self._warned_at >= _WARN_EVERY:  # one line per interval, not per request
            self._warned_at = now
            log.error(
                "rate-limit storage failed (%s); refusing requests",
                type(exc.storage_error).__name__,
            )
