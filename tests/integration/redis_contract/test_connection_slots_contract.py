"""The connection-slot contract on both stores, then the Redis leases (lapse without refresh, kept by refresh)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from adapters.outbound.redis.limits import RedisConnectionSlotStore
from tests.integration.redis_contract.conftest import SlotBackend
from tests.integration.waiting import eventually

ops = st.lists(
    st.tuples(st.sampled_from(["acquire", "release"]), st.sampled_from("uv"), st.sampled_from("abcdef")), max_size=40
)


@given(cap=st.integers(min_value=1, max_value=4), steps=ops)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
async def test_the_cap_is_never_exceeded_and_counts_never_go_negative(
    slot_backend: SlotBackend, cap: int, steps: list[tuple[str, str, str]]
) -> None:
    store = slot_backend.new_store()
    model: dict[str, set[str]] = {"u": set(), "v": set()}
    for op, key, holder in steps:
        if op == "acquire":
            ok = await store.acquire(key, holder, cap, 0.0)
            assert ok == (holder in model[key] or len(model[key]) < cap)
            if ok:
                model[key].add(holder)
        else:
            await store.release(key, holder)
            model[key].discard(holder)
        for k, holders in model.items():
            assert 0 <= await slot_backend.count(store, k) == len(holders) <= cap


async def test_a_duplicate_release_and_unknown_holders_are_harmless(slot_backend: SlotBackend) -> None:
    store = slot_backend.new_store()
    assert await store.acquire("u", "a", 2, 0.0)
    assert await store.acquire("u", "b", 2, 0.0)
    await store.release("u", "a")
    await store.release("u", "a")
    await store.release("u", "nobody")
    await store.release("never-used", "a")
    assert await slot_backend.count(store, "u") == 1
    assert await store.acquire("u", "c", 2, 0.0)
    assert not await store.acquire("u", "d", 2, 0.0)


async def test_the_same_holder_acquiring_twice_takes_one_slot(slot_backend: SlotBackend) -> None:
    store = slot_backend.new_store()
    assert await store.acquire("u", "a", 1, 0.0)
    assert await store.acquire("u", "a", 1, 0.0)
    assert await slot_backend.count(store, "u") == 1
    assert not await store.acquire("u", "b", 1, 0.0)
    await store.release("u", "a")
    assert await slot_backend.count(store, "u") == 0


LEASE = 0.5


async def _is(value: Awaitable[int], expected: int) -> bool:
    return await value == expected


@pytest.mark.redis
async def test_a_lease_not_refreshed_lapses_and_frees_its_slot(redis: Redis, redis_prefix: str) -> None:
    """What a node killed with SIGKILL leaves behind: holders nobody refreshes or releases."""
    dead_node = RedisConnectionSlotStore(redis, redis_prefix, lease_seconds=LEASE)
    live_node = RedisConnectionSlotStore(redis, redis_prefix, lease_seconds=LEASE)
    assert await dead_node.acquire("u", "a", 1, 0.0)
    assert not await live_node.acquire("u", "b", 1, 0.0)
    # Leases run on Redis's own clock: waited for, not slept through (and not a fake clock's to advance).
    await eventually(lambda: _is(live_node.count("u"), 0), within=LEASE * 6, what="the unrefreshed lease lapsed")
    assert await live_node.acquire("u", "b", 1, 0.0)
    await eventually(lambda: _is(redis.exists(f"{redis_prefix}u"), 0), within=LEASE * 6, what="the key expired too")


@pytest.mark.redis
async def test_refreshed_leases_outlive_the_lease_time(redis: Redis, redis_prefix: str) -> None:
    store = RedisConnectionSlotStore(redis, redis_prefix, lease_seconds=LEASE)
    assert await store.acquire("u", "a", 2, 0.0)
    assert await store.acquire("v", "x", 2, 0.0)
    for _ in range(6):  # the scenario is time passing: 0.9 s in all (Redis's clock), refreshing every lease / 3
        await asyncio.sleep(LEASE / 3)
        await store.refresh({"u": {"a"}, "v": {"x"}, "w": set()})
    assert await store.count("u") == 1 and await store.count("v") == 1
    assert not await store.acquire("u", "b", 1, 0.0)
    await store.refresh({})


@pytest.mark.redis
async def test_refresh_never_brings_back_a_lapsed_or_released_holder(redis: Redis, redis_prefix: str) -> None:
    store = RedisConnectionSlotStore(redis, redis_prefix, lease_seconds=LEASE)
    assert await store.acquire("u", "a", 1, 0.0)
    await store.release("u", "a")
    await store.refresh({"u": {"a"}})
    assert await store.count("u") == 0
    assert await store.acquire("u", "b", 1, 0.0)
    await eventually(lambda: _is(store.count("u"), 0), within=LEASE * 6, what="b's lease lapsed")
    assert await store.acquire("u", "c", 1, 0.0)
    await store.refresh({"u": {"b", "c"}})  # b lapsed and c took its slot: b must not come back over the cap
    assert await store.count("u") == 1
