"""The sliding-log contract on both stores: hypothesis on a fake clock, then Redis on its own clock.

The fake-clock properties use `trust_caller_clock=True` so they are deterministic and fast; times are
multiples of 1/64 s so float seconds and the script's integer microseconds agree exactly.
"""

from __future__ import annotations

import asyncio
import bisect
import random
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from adapters.outbound.memory.limits import InMemoryRateLimitStore
from adapters.outbound.redis.limits import RedisRateLimitStore
from domain.rate_limit import RateRule, SlidingLog
from tests.integration.redis_contract.conftest import RateBackend

TICK = 1 / 64
START = 1_000_000.0

rules = st.builds(RateRule, st.integers(min_value=1, max_value=6), st.integers(1, 64).map(lambda n: n * TICK))
gaps = st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=40)
examples = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


def times_from(ticks: list[int]) -> list[float]:
    now, out = START, []
    for gap in ticks:
        now += gap * TICK
        out.append(now)
    return out


def key() -> str:
    return uuid.uuid4().hex


@given(rule=rules, ticks=gaps)
@examples
async def test_never_more_than_limit_accepted_in_any_window(
    rate_backend: RateBackend, rule: RateRule, ticks: list[int]
) -> None:
    store, k = rate_backend.new_store(), key()
    accepted = [t for t in times_from(ticks) if (await store.hit(k, rule, t)).allowed]
    for i, start in enumerate(accepted):
        assert bisect.bisect_left(accepted, start + rule.window, lo=i) - i <= rule.limit


@given(rule=rules, ticks=gaps)
@examples
async def test_a_client_within_the_limit_is_never_refused(
    rate_backend: RateBackend, rule: RateRule, ticks: list[int]
) -> None:
    kept: list[float] = []
    for t in times_from(ticks):
        if len(kept) - bisect.bisect_right(kept, t - rule.window) < rule.limit:
            kept.append(t)
    store, k = rate_backend.new_store(), key()
    assert all([(await store.hit(k, rule, t)).allowed for t in kept])


@given(rule=rules, ticks=gaps)
@examples
async def test_refused_hits_change_nothing(rate_backend: RateBackend, rule: RateRule, ticks: list[int]) -> None:
    """A log fed every hit behaves exactly like one fed only the hits it accepted."""
    store, twin, k = rate_backend.new_store(), rate_backend.new_store(), key()
    times = times_from(ticks)
    for t in times:
        decision = await store.hit(k, rule, t)
        if decision.allowed:
            assert (await twin.hit(k, rule, t)).allowed
        else:
            assert decision.remaining == 0 and decision.reset_at > t
    for n in range(rule.limit + 1):
        probe = times[-1] + n * TICK
        assert await store.hit(k, rule, probe) == await twin.hit(k, rule, probe)


@given(rule=rules, hits=st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 20)), min_size=1, max_size=40))
@examples
async def test_keys_never_affect_each_other(
    rate_backend: RateBackend, rule: RateRule, hits: list[tuple[str, int]]
) -> None:
    shared = rate_backend.new_store()
    alone = {name: rate_backend.new_store() for name in "abc"}
    now = START
    for name, gap in hits:
        now += gap * TICK
        assert await shared.hit(name, rule, now) == await alone[name].hit(name, rule, now)


async def decides_like_the_sliding_log(store: RedisRateLimitStore, rule: RateRule, hits: list[tuple[int, int]]) -> None:
    """Each (gap in ticks, cost) hit on `store` gets the decision the domain's SlidingLog gives."""
    log, now = SlidingLog(), START
    for gap, cost in hits:
        now += gap * TICK
        assert await store.hit("k", rule, now, cost=cost) == log.hit(rule, now, cost=cost)


@pytest.mark.redis
@given(rule=rules, hits=st.lists(st.tuples(st.integers(0, 20), st.integers(0, 8)), min_size=1, max_size=40))
@examples
async def test_redis_decides_exactly_like_the_sliding_log(
    redis: Redis, redis_prefix: str, rule: RateRule, hits: list[tuple[int, int]]
) -> None:
    """Same decisions, remaining and reset_at as the domain's SlidingLog, costs (above the limit too) included."""
    await decides_like_the_sliding_log(
        RedisRateLimitStore(redis, f"{redis_prefix}{key()}:", trust_caller_clock=True), rule, hits
    )


@pytest.mark.redis
@given(rule=rules, hits=st.lists(st.tuples(st.integers(-20, 20), st.integers(0, 3)), min_size=1, max_size=40))
@examples
async def test_a_caller_clock_that_steps_back_decides_like_the_sliding_log(
    redis: Redis, redis_prefix: str, rule: RateRule, hits: list[tuple[int, int]]
) -> None:
    """Times going back count as the log's newest time (never reopening a full window), as in SlidingLog."""
    store = RedisRateLimitStore(redis, f"{redis_prefix}{key()}:", trust_caller_clock=True)
    await decides_like_the_sliding_log(store, rule, hits)
    entries: list[bytes] = await redis.lrange(store.log_key("k"), 0, -1)  # type: ignore[misc]
    assert [int(entry) for entry in entries] == sorted(int(entry) for entry in entries)


@pytest.mark.redis
async def test_on_the_server_clock_a_time_that_went_back_is_not_used(redis: Redis, redis_prefix: str) -> None:
    """The newest time any call used (the clock key) wins over a server TIME that is behind it."""
    store = RedisRateLimitStore(redis, redis_prefix)
    seconds, micros = await redis.time()
    ahead = seconds * 1_000_000 + micros + 30_000_000  # as if the server's clock had just stepped back 30 s
    await redis.set(f"{redis_prefix}clock", ahead)
    rule = RateRule(2, 10)
    decisions = [await store.hit("k", rule, 0.0) for _ in range(3)]
    assert [d.allowed for d in decisions] == [True, True, False]
    assert decisions[2].reset_at == (ahead + 10_000_000) / 1_000_000
    assert await redis.lrange(store.log_key("k"), 0, -1) == [str(ahead).encode()] * 2
    assert int(await redis.get(f"{redis_prefix}clock")) == ahead  # the clock never goes back either


@pytest.mark.redis
async def test_the_memory_twin_and_redis_agree_on_a_random_stream(redis: Redis, redis_prefix: str) -> None:
    rng = random.Random(7)
    rule = RateRule(4, 16 * TICK)
    memory, remote = InMemoryRateLimitStore(), RedisRateLimitStore(redis, redis_prefix, trust_caller_clock=True)
    now = START
    for _ in range(300):
        now += rng.randint(0, 6) * TICK
        k = rng.choice("xyz")
        assert await memory.hit(k, rule, now) == await remote.hit(k, rule, now)


@pytest.mark.redis
async def test_a_cost_above_the_limit_is_refused_and_counts_nothing(redis: Redis, redis_prefix: str) -> None:
    rule = RateRule(3, 10)
    store = RedisRateLimitStore(redis, redis_prefix, trust_caller_clock=True)
    assert not (await store.hit("k", rule, 100.0, cost=4)).allowed
    assert await redis.exists(store.log_key("k")) == 0
    assert [(await store.hit("k", rule, 101.0)).allowed for _ in range(4)] == [True, True, True, False]
    assert (await store.hit("k", rule, 111.0)).allowed


@pytest.mark.redis
@given(
    rule=st.builds(
        RateRule, st.integers(1, 4), st.sampled_from([6.0, 7.5])
    ),  # longer than the 5 s the callers may take: no entry is trimmed before the log is read back
    gaps_ms=st.lists(st.integers(0, 50), min_size=1, max_size=10),
    clients=st.integers(1, 3),
)
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
async def test_on_the_server_clock_no_window_holds_more_than_the_limit(
    redis: Redis, redis_prefix: str, rule: RateRule, gaps_ms: list[int], clients: int
) -> None:
    """Real time, several concurrent callers, and the `now` they pass deliberately wrong: the server's clock rules.

    Every accepted hit's server timestamp is read back at the end (before any could be trimmed) and
    checked window by window.
    """
    store = RedisRateLimitStore(redis, redis_prefix)
    k = key()
    log_key = store.log_key(k)
    allowed = 0

    async def caller(lie: float) -> None:
        nonlocal allowed
        for gap in gaps_ms:
            await asyncio.sleep(gap / 1000)  # the scenario: the generated gaps between one client's hits
            decision = await store.hit(k, rule, lie)
            allowed += decision.allowed

    await asyncio.wait_for(asyncio.gather(*(caller(lie) for lie in (0.0, 1e12, -5.0)[:clients])), 5)
    entries: list[bytes] = await redis.lrange(log_key, 0, -1)  # type: ignore[misc]
    assert len(entries) == allowed  # nothing trimmed yet: the log holds every accepted hit, in time order
    stamps = [int(entry) / 1_000_000 for entry in entries]
    assert stamps == sorted(stamps)
    window = round(rule.window * 1_000_000) / 1_000_000
    for i, start in enumerate(stamps):
        assert bisect.bisect_left(stamps, start + window, lo=i) - i <= rule.limit
    ttl = await redis.pttl(log_key)
    assert ttl == -2 or 0 < ttl <= rule.window * 1000
