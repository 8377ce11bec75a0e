"""The batched Redis limiter: hits that arrive together share one round trip and are decided as if one by one."""

from __future__ import annotations

import asyncio
import bisect
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis
from redis.exceptions import RedisError

from adapters.outbound.memory.limits import InMemoryRateLimitStore
from adapters.outbound.redis.client import redis_from_url, unbounded_options
from adapters.outbound.redis.failover import FailoverRateLimitStore
from adapters.outbound.redis.limits import RedisRateLimitStore
from domain.rate_limit import RateRule, SlidingLog

pytestmark = pytest.mark.redis

TICK = 1 / 64
START = 1_000_000.0
examples = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
rules = st.builds(RateRule, st.integers(min_value=1, max_value=6), st.integers(1, 64).map(lambda n: n * TICK))
# (key, ticks since the previous hit, cost): a stream where several keys and several instants mix in one batch
streams = st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 6), st.integers(0, 3)), min_size=1, max_size=60)


@given(rule=rules, stream=streams, max_batch=st.integers(1, 64))
@examples
async def test_a_batch_decides_exactly_like_the_same_hits_one_by_one(
    redis: Redis, redis_prefix: str, rule: RateRule, stream: list[tuple[str, int, int]], max_batch: int
) -> None:
    """Every hit started in one tick (so they batch): each decision equals a sliding log fed in arrival order."""
    store = RedisRateLimitStore(
        redis, f"{redis_prefix}{uuid.uuid4().hex}:", trust_caller_clock=True, max_batch=max_batch
    )
    logs = {k: SlidingLog() for k in "abc"}
    now, expected, calls = START, [], []
    for k, gap, cost in stream:
        now += gap * TICK
        expected.append(logs[k].hit(rule, now, cost=cost))
        calls.append(store.hit(k, rule, now, cost=cost))
    assert await asyncio.gather(*calls) == expected
    # at least ceil(n / max_batch) calls; more when a call had to leave a key's hits to the next one
    assert -(-len(stream) // max_batch) <= store.round_trips <= len(stream)


async def test_hits_arriving_during_a_round_trip_share_the_next_one(redis: Redis, redis_prefix: str) -> None:
    store = RedisRateLimitStore(redis, redis_prefix)
    rule = RateRule(1000, 60)
    first = asyncio.ensure_future(store.hit("k", rule, 0))
    while store.round_trips == 0:  # noqa: ASYNC110 (until the first call is in flight: a counter)
        await asyncio.sleep(0)
    rest = [store.hit(f"k{i % 7}", rule, 0) for i in range(99)]
    decisions = [await first, *await asyncio.gather(*rest)]
    assert all(d.allowed for d in decisions)
    assert store.round_trips == 2


@given(
    limit=st.integers(1, 40),
    callers=st.lists(st.integers(1, 30), min_size=2, max_size=4),
)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
async def test_two_nodes_batching_concurrently_never_pass_the_limit_together(
    redis: Redis, redis_prefix: str, limit: int, callers: list[int]
) -> None:
    """Two stores (two nodes) on the server clock, bursts of concurrent hits on one key: the fleet gets exactly
    `limit` in a window that outlasts the burst, and the accepted entries read back fit every window."""
    rule = RateRule(limit, 5.0)
    prefix = f"{redis_prefix}{uuid.uuid4().hex}:"
    nodes = [RedisRateLimitStore(redis, prefix), RedisRateLimitStore(redis, prefix, max_batch=3)]

    async def burst(node: RedisRateLimitStore, n: int) -> int:
        return sum(d.allowed for d in await asyncio.gather(*(node.hit("k", rule, 0.0) for _ in range(n))))

    accepted = sum(await asyncio.gather(*(burst(nodes[i % 2], n) for i, n in enumerate(callers))))
    assert accepted == min(limit, sum(callers))
    entries: list[bytes] = await redis.lrange(nodes[0].log_key("k"), 0, -1)  # type: ignore[misc]
    assert len(entries) == accepted
    stamps = [int(entry) / 1_000_000 for entry in entries]
    assert stamps == sorted(stamps)
    for i, start in enumerate(stamps):
        assert bisect.bisect_left(stamps, start + rule.window, lo=i) - i <= rule.limit


async def test_a_failed_round_trip_fails_every_hit_of_its_batch_and_failover_answers_locally() -> None:
    dead = redis_from_url("redis://127.0.0.1:1/0")  # nothing listens on port 1
    try:
        store = RedisRateLimitStore(dead, "x:")
        rule = RateRule(2, 60)
        results = await asyncio.gather(*(store.hit("k", rule, 0) for _ in range(5)), return_exceptions=True)
        assert all(isinstance(r, RedisError) for r in results)
        failover = FailoverRateLimitStore(store, InMemoryRateLimitStore())
        decisions = await asyncio.gather(*(failover.hit("k", rule, 100.0) for _ in range(3)))
        assert [d.allowed for d in decisions] == [True, True, False]
    finally:
        await dead.aclose()


async def test_a_call_left_unanswered_fails_its_batch_within_the_call_timeout() -> None:
    """The limiter's client has no socket timeout (unbounded_options): the store's own bound ends a hung call."""
    accepted: list[asyncio.StreamWriter] = []

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)  # reads nothing, answers nothing, stays open

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    silent = Redis.from_url(f"redis://127.0.0.1:{port}/0", **unbounded_options())
    try:
        store = RedisRateLimitStore(silent, "x:", call_timeout=0.3)
        failover = FailoverRateLimitStore(store, InMemoryRateLimitStore())
        rule = RateRule(2, 60)
        results = await asyncio.wait_for(
            asyncio.gather(*(store.hit("k", rule, 0) for _ in range(3)), return_exceptions=True), 10
        )
        assert all(isinstance(r, RedisError) for r in results)
        decisions = await asyncio.wait_for(asyncio.gather(*(failover.hit("k", rule, 100.0) for _ in range(3))), 10)
        assert [d.allowed for d in decisions] == [True, True, False]
        assert accepted  # the calls did reach a server: it was the silence that failed them
    finally:
        await silent.aclose()
        for writer in accepted:
            writer.close()
        server.close()
        await server.wait_closed()


@given(rule=rules, stream=streams, max_batch=st.integers(1, 8), in_flight=st.integers(1, 4))
@examples
async def test_calls_in_flight_together_still_decide_each_key_in_arrival_order(
    redis: Redis, redis_prefix: str, rule: RateRule, stream: list[tuple[str, int, int]], max_batch: int, in_flight: int
) -> None:
    """Small batches and several calls out at once, hits arriving in waves: each key's decisions are a sliding log's."""
    store = RedisRateLimitStore(
        redis,
        f"{redis_prefix}{uuid.uuid4().hex}:",
        trust_caller_clock=True,
        max_batch=max_batch,
        max_in_flight=in_flight,
    )
    logs = {k: SlidingLog() for k in "abc"}
    now, expected, calls = START, [], []
    for i, (k, gap, cost) in enumerate(stream):
        now += gap * TICK
        expected.append(logs[k].hit(rule, now, cost=cost))
        calls.append(asyncio.ensure_future(store.hit(k, rule, now, cost=cost)))
        if i % 5 == 4:
            await asyncio.sleep(0)  # a new wave while calls are out
    assert await asyncio.gather(*calls) == expected
