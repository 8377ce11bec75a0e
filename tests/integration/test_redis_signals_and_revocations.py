"""Job wake-ups and session revocations across nodes through Redis, and both surviving a Redis restart."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from adapters.outbound.redis.client import redis_from_url
from adapters.outbound.redis.revocations import RedisRevocationBus
from adapters.outbound.redis.signals import RedisJobSignals
from tests.integration.redis_server import throwaway_redis
from tests.integration.waiting import eventually

pytestmark = pytest.mark.redis

SHARED_URL = "redis://127.0.0.1:6379/0"


@contextlib.asynccontextmanager
async def started(*parts: RedisJobSignals | RedisRevocationBus) -> AsyncIterator[None]:
    try:
        for part in parts:
            await part.start()
        yield
    finally:
        for part in parts:
            await part.stop()


class Collector:
    def __init__(self) -> None:
        self.batches: list[set[str]] = []

    async def __call__(self, session_ids: set[str]) -> None:
        self.batches.append(session_ids)

    def got(self, session_ids: set[str]) -> Callable[[], bool]:
        return lambda: session_ids in self.batches


async def woken_across(sender: RedisJobSignals, receiver: RedisJobSignals, within: float = 2.0) -> bool:
    job_id = uuid.uuid4().hex
    receiver.arm(job_id)
    waiter = asyncio.create_task(receiver.wait(job_id, within))
    await asyncio.sleep(0)  # a yield, not a wait: the waiter task starts waiting before the wake
    started_at = time.monotonic()
    await sender.wake(job_id)
    await waiter
    receiver.forget(job_id)
    return time.monotonic() - started_at < within * 0.9


def clients(url: str, count: int) -> list[Redis]:
    return [redis_from_url(url) for _ in range(count)]


async def close_all(redis_clients: list[Redis]) -> None:
    for client in redis_clients:
        await client.aclose()


async def test_a_wake_on_one_node_ends_the_wait_on_another() -> None:
    channel = f"vrt-test:jobs:{uuid.uuid4().hex}"
    one, two = clients(SHARED_URL, 2)
    node_a, node_b = RedisJobSignals(one, channel), RedisJobSignals(two, channel)
    try:
        async with started(node_a, node_b):
            assert node_a.healthy and node_b.healthy
            assert await woken_across(node_a, node_b)
            assert await woken_across(node_b, node_a)
            assert await woken_across(node_a, node_a)
    finally:
        await close_all([one, two])


async def test_a_wake_for_an_unarmed_job_is_harmless_and_the_wait_still_times_out() -> None:
    channel = f"vrt-test:jobs:{uuid.uuid4().hex}"
    (one,) = clients(SHARED_URL, 1)
    signals = RedisJobSignals(one, channel)
    try:
        async with started(signals):
            await signals.wake("nobody-waits")
            started_at = time.monotonic()
            await signals.wait("other", 0.2)
            assert 0.15 < time.monotonic() - started_at < 1
    finally:
        await one.aclose()


async def test_a_revocation_published_by_one_node_reaches_every_node() -> None:
    channel = f"vrt-test:revoked:{uuid.uuid4().hex}"
    one, two = clients(SHARED_URL, 2)
    seen_a, seen_b = Collector(), Collector()
    bus_a = RedisRevocationBus(one, channel, on_revoked=seen_a)
    bus_b = RedisRevocationBus(two, channel, on_revoked=seen_b)
    try:
        async with started(bus_a, bus_b):
            await bus_a.publish({"s1", "s2"})
            await bus_a.publish(set())
            await one.publish(channel, b"not json")
            await eventually(seen_b.got({"s1", "s2"}), within=2, what="delivered to the other node")
            await eventually(seen_a.got({"s1", "s2"}), within=2, what="delivered to the publishing node")
            await bus_b.publish({"s3"})
            await eventually(seen_a.got({"s3"}), within=2, what="delivered back")
            assert seen_a.batches == seen_b.batches == [{"s1", "s2"}, {"s3"}]
    finally:
        await close_all([one, two])


async def test_signals_and_revocations_survive_a_redis_restart() -> None:
    async with throwaway_redis() as server:
        redis_clients = clients(server.url, 4)
        lost: list[str] = []
        node_a = RedisJobSignals(redis_clients[0], on_lost=lambda: lost.append("lost"))
        node_b = RedisJobSignals(redis_clients[1])
        seen = Collector()
        bus_a = RedisRevocationBus(redis_clients[2], on_revoked=Collector())
        bus_b = RedisRevocationBus(redis_clients[3], on_revoked=seen)
        listeners: list[RedisJobSignals | RedisRevocationBus] = [node_a, node_b, bus_a, bus_b]
        try:
            async with started(*listeners):
                assert all(part.healthy for part in listeners)
                assert await woken_across(node_a, node_b)
                await bus_a.publish({"before"})
                await eventually(seen.got({"before"}), within=2, what="revocation delivered before the restart")

                await server.kill()
                await eventually(lambda: not any(part.healthy for part in listeners), within=5, what="seen as down")
                await node_a.wake("lost-while-down")  # logged and counted, never raised
                assert node_a.lost_wakes == 1 and lost == ["lost"]
                with pytest.raises(RedisError):  # the caller decides what to do
                    await bus_a.publish({"lost"})

                await server.start()
                await eventually(lambda: all(part.healthy for part in listeners), within=8, what="re-subscribed")
                assert await woken_across(node_a, node_b)
                assert await woken_across(node_b, node_a)
                await bus_a.publish({"after"})
                await eventually(seen.got({"after"}), within=2, what="revocation delivered after the restart")
                assert {"lost"} not in seen.batches
        finally:
            await close_all(redis_clients)
