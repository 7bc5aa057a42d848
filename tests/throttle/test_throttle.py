"""API-2: the Throttle counts requests per key in a moving window, in memory or in a
real Redis shared by several processes, and fails closed when Redis does not answer.

The ``limits`` library reads the system clock (``time.time``) and takes no clock
of ours, so the tests that need a window to pass use one-second windows and wait.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bastion.errors import Invalid, RateLimited
from bastion.settings import Settings
from bastion.throttle import (
    RateLimitUnavailable,
    Throttle,
    describe,
    parse_limit,
    parse_network,
    source_key,
)
from tests.fixtures.redis import redis_keys


@pytest.fixture
def memory() -> Throttle:
    return Throttle("memory://")


@pytest.fixture
def shared(redis_url: str, redis_prefix: str) -> Iterator[Throttle]:
    throttle = Throttle(redis_url, key_prefix=redis_prefix)
    yield throttle
    throttle.close()


def flood(throttle: Throttle, limit: str, *keys: str, count: int = 30) -> list[bool]:
    """``count`` hits, True for each one let through."""
    results = []
    for _ in range(count):
        try:
            throttle.hit(limit, *keys)
            results.append(True)
        except RateLimited:
            results.append(False)
    return results


# -- limit strings ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("100/second", "100 per second"),
        ("600/minute", "600 per minute"),
        ("10 per 5 seconds", "10 per 5 seconds"),
        ("1/day", "1 per day"),
    ],
)
def test_limit_strings_parse(text: str, words: str) -> None:
    assert describe(parse_limit(text)) == words


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fast", "is not one rate limit like 100/second"),
        ("10/fortnight", "is not one rate limit"),
        ("10/second;100/minute", "is not one rate limit"),
        ("", "is not one rate limit"),
        ("1" * 70 + "/second", "is not one rate limit"),
        ("0/second", "give 1 to 100000"),
        ("1000000/day", "for more, use a shorter window"),
    ],
)
def test_bad_limit_strings_are_refused_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=r"rate limit|give 1 to") as caught:
        parse_limit(text)
    assert message in str(caught.value)


def test_a_bad_default_limit_stops_the_start_naming_the_variable(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, api_rate_limit_per_ip="lots")
    with pytest.raises(Invalid, match="BASTION_API_RATE_LIMIT_PER_IP: 'lots' is not one rate"):
        Throttle.from_settings(settings)


@pytest.mark.parametrize("url", ["memcached://127.0.0.1:11211", "mongodb://x", "file:///tmp/x"])
def test_only_memory_and_redis_storages_are_accepted(url: str) -> None:
    with pytest.raises(Invalid, match="must be memory:// or a redis:// URL"):
        Throttle(url)


def test_a_bad_redis_url_is_refused_without_echoing_it() -> None:
    with pytest.raises(Invalid) as caught:
        Throttle("redis://:hunter2@127.0.0.1:notaport/0")
    assert "hunter2" not in str(caught.value)


# -- sources and networks ---------------------------------------------------------------


def test_sources_are_counted_by_address_and_ipv6_by_its_64() -> None:
    assert source_key("192.0.2.7") == "192.0.2.7"
    assert source_key("::ffff:192.0.2.7") == "192.0.2.7"  # IPv4-mapped is the same caller
    assert source_key("2001:db8:1:2::1") == source_key("2001:db8:1:2:ffff::9")
    assert source_key("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert source_key("2001:db8:1:3::1") != source_key("2001:db8:1:2::1")
    assert source_key(None) == "peer:unknown"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10.1.2.3/8", "has host bits set: write 10.0.0.0/8"),
        ("10.0.0.0/33", "is not an IP address or network"),
        ("example.com", "is not an IP address or network"),
    ],
)
def test_bad_networks_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_network(text)


# -- the limit itself, in memory ----------------------------------------------------------


def test_a_flood_is_cut_at_the_limit_and_other_keys_are_unaffected(memory: Throttle) -> None:
    assert flood(memory, "5/minute", "api", "source", "a") == [True] * 5 + [False] * 25
    assert flood(memory, "5/minute", "api", "source", "b", count=5) == [True] * 5
    with pytest.raises(RateLimited) as caught:
        memory.hit("5/minute", "api", "source", "a", what="requests from this address")
    assert caught.value.message.startswith(
        "too many requests from this address: at most 5 per minute; try again in "
    )
    assert 59 < caught.value.resets_in <= 60


def test_testing_counts_nothing(memory: Throttle) -> None:
    for _ in range(20):
        assert memory.test("3/minute", "k")
    assert memory.window("3/minute", "k").remaining == 3
    assert flood(memory, "3/minute", "k", count=4) == [True, True, True, False]
    assert not memory.test("3/minute", "k")
    assert memory.window("3/minute", "k").remaining == 0


def test_allow_counts_like_hit_and_answers_with_a_value(memory: Throttle) -> None:
    assert [memory.allow("2/minute", "k") for _ in range(4)] == [True, True, False, False]


def test_the_window_frees_up_as_time_passes(memory: Throttle) -> None:
    assert flood(memory, "5/second", "k", count=10) == [True] * 5 + [False] * 5
    with pytest.raises(RateLimited) as caught:
        memory.hit("5/second", "k")
    time.sleep(caught.value.resets_in + 0.05)
    assert flood(memory, "5/second", "k", count=6) == [True] * 5 + [False]


def test_the_window_moves_instead_of_resetting_at_an_edge(memory: Throttle) -> None:
    # 2 hits, then 2 more 1 s later: after the first two leave the 2 s window, only two
    # slots free up. A fixed window starting at the first hit would have reset to 4.
    assert flood(memory, "4 per 2 seconds", "k", count=2) == [True, True]
    time.sleep(1.0)
    assert flood(memory, "4 per 2 seconds", "k", count=2) == [True, True]
    time.sleep(1.4)  # the first two have left the window; the last two have not
    assert flood(memory, "4 per 2 seconds", "k", count=3) == [True, True, False]


# -- the limit in a real Redis, shared ------------------------------------------------------


@pytest.mark.redis
def test_redis_cuts_a_flood_and_keys_stay_apart(shared: Throttle) -> None:
    assert flood(shared, "5/minute", "api", "source", "a") == [True] * 5 + [False] * 25
    assert flood(shared, "5/minute", "api", "source", "b", count=5) == [True] * 5
    assert 59 < shared.window("5/minute", "api", "source", "a").resets_in <= 60


@pytest.mark.redis
def test_two_throttles_on_one_redis_share_the_count(
    redis_url: str, redis_prefix: str, shared: Throttle
) -> None:
    other = Throttle(redis_url, key_prefix=redis_prefix)
    try:
        assert flood(shared, "6/minute", "k", count=4) == [True] * 4
        assert flood(other, "6/minute", "k", count=4) == [True, True, False, False]
        assert flood(shared, "6/minute", "k", count=1) == [False]
    finally:
        other.close()
    assert redis_keys(redis_url, redis_prefix), "the counts live under the test's prefix"


@pytest.mark.redis
def test_another_prefix_is_another_count(redis_url: str, redis_prefix: str) -> None:
    first = Throttle(redis_url, key_prefix=redis_prefix)
    second = Throttle(redis_url, key_prefix=f"{redis_prefix}-other")
    try:
        assert flood(first, "3/minute", "k", count=4) == [True] * 3 + [False]
        assert flood(second, "3/minute", "k", count=3) == [True] * 3
    finally:
        first.close()
        second.close()


@pytest.mark.redis
def test_the_redis_window_frees_up_as_time_passes(shared: Throttle) -> None:
    assert flood(shared, "5/second", "k", count=8) == [True] * 5 + [False] * 3
    time.sleep(shared.window("5/second", "k").resets_in + 0.05)
    assert flood(shared, "5/second", "k", count=6) == [True] * 5 + [False]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("call", ["hit", "allow", "test", "window"])
def test_an_unreachable_redis_refuses_instead_of_allowing(call: str) -> None:
    throttle = Throttle(f"redis://127.0.0.1:{_closed_port()}/0", timeout=0.5)
    started = time.monotonic()
    for _ in range(3):
        with pytest.raises(RateLimitUnavailable) as caught:
            getattr(throttle, call)("5/second", "k")
    assert time.monotonic() - started < 3
    assert caught.value.code == "rate_limit_unavailable"
    assert "127.0.0.1" not in caught.value.message


def test_a_redis_that_never_answers_is_given_up_on_after_the_timeout() -> None:
    with socket.socket() as silent:  # accepts connections (the backlog), never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        throttle = Throttle(f"redis://127.0.0.1:{port}/0", timeout=0.3)
        started = time.monotonic()
        with pytest.raises(RateLimitUnavailable):
            throttle.hit("5/second", "k")
        assert time.monotonic() - started < 2
