"""JobSignals, FleetView and RevocationBroadcast: one contract over the in-process adapter and the Redis one.

The Redis adapters' cross-node behaviour (a wake or a revocation from another node) has its own tests in
test_redis_signals_and_revocations.py; here both backends must behave alike as seen from one node.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import pytest

from adapters.outbound.memory.fleet import LocalFleetView, LocalRevocations
from adapters.outbound.memory.signals import LocalJobSignals
from adapters.outbound.redis.fleet import RedisFleetView
from adapters.outbound.redis.revocations import RedisRevocationBus
from adapters.outbound.redis.signals import RedisJobSignals
from application.ports import FleetTotals
from tests.integration.redis_contract.conftest import prefixed_redis
from tests.integration.waiting import eventually

BACKENDS = ["memory", pytest.param("redis", marks=pytest.mark.redis)]
LONG = 5.0  # a wait that should end at once is given this long; ending near it means it was not woken


@dataclass
class Backend:
    name: str
    signals: Any
    fleet: Any
    revocations: Callable[[Callable[[set[str]], Awaitable[None]]], Awaitable[Any]]


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest, redis_prefix: str) -> AsyncIterator[Backend]:
    async with AsyncExitStack() as stack:
        if request.param == "memory":

            async def local_bus(on_revoked: Callable[[set[str]], Awaitable[None]]) -> Any:
                return LocalRevocations(on_revoked)

            yield Backend("memory", LocalJobSignals(), LocalFleetView(), local_bus)
            return
        client = await stack.enter_async_context(prefixed_redis(redis_prefix))
        signals = RedisJobSignals(client, f"{redis_prefix}jobs")
        await signals.start()
        stack.push_async_callback(signals.stop)

        async def redis_bus(on_revoked: Callable[[set[str]], Awaitable[None]]) -> Any:
            bus = RedisRevocationBus(client, f"{redis_prefix}revoked", on_revoked=on_revoked)
            await bus.start()
            stack.push_async_callback(bus.stop)
            await eventually(lambda: bus.healthy, what="subscribed")
            return bus

        yield Backend("redis", signals, RedisFleetView(client, f"{redis_prefix}fleet"), redis_bus)


async def timed_wait(signals: Any, job_id: str, at_most: float) -> float:
    loop = asyncio.get_running_loop()
    started = loop.time()
    await signals.wait(job_id, at_most)
    return loop.time() - started


async def test_a_wake_after_the_arm_ends_the_wait_at_once(backend: Backend) -> None:
    signals = backend.signals
    signals.arm("job-1")
    waiter = asyncio.create_task(timed_wait(signals, "job-1", LONG))
    await asyncio.sleep(0)  # a yield, not a wait: the waiter starts waiting
    await signals.wake("job-1")
    assert await asyncio.wait_for(waiter, LONG) < LONG / 2
    signals.forget("job-1")


async def test_a_wake_before_the_arm_is_forgotten_and_the_wait_runs_to_its_timeout(backend: Backend) -> None:
    signals = backend.signals
    signals.arm("job-1")
    await signals.wake("job-1")
    signals.arm("job-1")  # what a runner does before reading the job again: that wake is already seen
    assert await timed_wait(signals, "job-1", 0.2) >= 0.2 * 0.9  # the scenario is the timeout itself
    signals.forget("job-1")


async def test_a_wake_reaches_only_its_own_job(backend: Backend) -> None:
    signals = backend.signals
    for job in ("job-1", "job-2"):
        signals.arm(job)
    other = asyncio.create_task(timed_wait(signals, "job-2", 0.3))
    mine = asyncio.create_task(timed_wait(signals, "job-1", LONG))
    await asyncio.sleep(0)  # a yield, not a wait: both start waiting
    await signals.wake("job-1")
    assert await asyncio.wait_for(mine, LONG) < LONG / 2
    assert await other >= 0.3 * 0.9  # job-2 was not woken: it ran to its timeout
    for job in ("job-1", "job-2"):
        signals.forget(job)


async def test_a_nodes_report_is_in_the_totals_and_its_next_report_replaces_it(backend: Backend) -> None:
    fleet = backend.fleet
    assert await fleet.totals() == FleetTotals(0, 0, 0)
    await fleet.report("node-a", 3, 10)
    assert await fleet.totals() == FleetTotals(3, 10, 1)
    await fleet.report("node-a", 1, 12)
    assert await fleet.totals() == FleetTotals(1, 12, 1)


async def test_a_revocation_reaches_the_handler_once_and_an_empty_one_reaches_nobody(backend: Backend) -> None:
    batches: list[set[str]] = []

    async def on_revoked(session_ids: set[str]) -> None:
        batches.append(session_ids)

    bus = await backend.revocations(on_revoked)
    await bus.publish(set())
    await bus.publish({"s1", "s2"})
    await bus.publish({"s3"})
    await eventually(lambda: {"s3"} in batches, what="the revocations delivered")
    assert batches == [{"s1", "s2"}, {"s3"}]  # in order, once each; the empty batch never arrived
