"""The fleet's event log on a real Redis: one order for every node, catch-up after a lost subscription, trims seen."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from adapters.inbound.socketio.redis_event_log import RedisLoggedEmitter
from adapters.outbound.event_log import LocalEventLog

pytestmark = pytest.mark.redis


class NoSockets:
    """A manager without sockets: what the log does is the subject here, not delivery."""

    rooms: dict[str, Any] = {}


@pytest.fixture
async def redis() -> AsyncIterator[tuple[Redis, str]]:
    client = Redis.from_url("redis://127.0.0.1:6379/0")
    key = f"vrt-test-{uuid.uuid4().hex[:10]}:log"
    try:
        yield client, key
    finally:
        keys = [k async for k in client.scan_iter(f"{key}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


def emitter(redis: Redis, key: str, log: LocalEventLog | None, per_room: int = 100) -> RedisLoggedEmitter:
    return RedisLoggedEmitter(redis, NoSockets(), log, key, per_room=per_room, total=1000, window=60)


async def until(condition: Any, timeout: float = 20.0, message: Any = None) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, message() if message else "timed out"
        await asyncio.sleep(0.02)


async def test_a_node_whose_subscription_was_down_reads_what_it_missed(redis: tuple[Redis, str]) -> None:
    client, key = redis
    log = LocalEventLog(100, 60, "")
    node, worker = emitter(client, key, log), emitter(client, key, None)
    await node.start()
    try:
        await worker.emit_logged("user_notification", {"n": 1}, "/", ["user_1", "user_1_captions"])
        await until(lambda: log.position == 1)
        await node.stop()  # the node hears nothing now
        for n in range(2, 6):
            await worker.emit_logged("user_notification", {"n": n}, "/", ["user_1"])
        assert log.position == 1
        await node.start()  # re-subscribed: it reads 2..5 from the stream of all events
        await until(lambda: log.position == 5)
        entries = log.since("/", {"user_1": 0}, 0)
        assert entries is not None and [e.seq for e in entries] == [1, 2, 3, 4, 5]
        assert entries[-1].text == '2["user_notification",{"n":5},"5"]'
        assert node.lost == 0
    finally:
        await node.stop()


async def test_the_shared_streams_replay_for_another_node_and_see_their_trims(redis: tuple[Redis, str]) -> None:
    client, key = redis
    log = LocalEventLog(100, 60, "")
    node = emitter(client, key, log, per_room=3)
    await node.start()
    try:
        for n in range(1, 4):
            await node.emit_logged("caption_progress", {"n": n}, "/", ["user_1"])
        await node.emit_logged("admin_alert", {}, "/admin", "admins")
        await until(lambda: log.position == 4)
        durable = await node.durable_since("/", {"user_1": 0}, 1)
        assert durable is not None and [e.seq for e in durable] == [2, 3]
        # Far past the per-room cap: Redis trims (approximately, whole macro nodes of 100 entries), and
        # a range whose start was trimmed cannot be honoured.
        for n in range(4, 400):
            await node.emit_logged("caption_progress", {"n": n}, "/", ["user_1"])
        assert await node.durable_since("/", {"user_1": 0}, 1) is None
        await until(lambda: log.position == 400, message=lambda: f"at {log.position}, lost {node.lost}")
        recent = await node.durable_since("/", {"user_1": 0}, 398)
        assert recent is not None and [e.seq for e in recent] == [399, 400]
    finally:
        await node.stop()


async def test_a_reset_log_starts_a_new_epoch(redis: tuple[Redis, str]) -> None:
    client, key = redis
    log = LocalEventLog(100, 60, "")
    node = emitter(client, key, log)
    await node.start()
    try:
        await node.emit_logged("user_notification", {}, "/", ["user_1"])
        await until(lambda: log.position == 1)
        before = log.epoch
        await client.delete(key)  # Redis lost the log (a flush, a restart without persistence)
        await node.emit_logged("user_notification", {}, "/", ["user_1"])
        await until(lambda: log.epoch != before and log.position == 1)
        assert log.since("/", {"user_1": 0}, 0) is not None
    finally:
        await node.stop()


def counting_pipelines(client: Redis) -> list[int]:
    """Counts the pipelines the client builds (one per round trip that carries several events)."""
    built: list[int] = []
    make = client.pipeline

    def pipeline(*args: Any, **kwargs: Any) -> Any:
        built.append(1)
        return make(*args, **kwargs)

    client.pipeline = pipeline  # type: ignore[method-assign]
    return built


async def test_a_burst_of_events_goes_in_one_round_trip_numbered_in_the_order_emitted(
    redis: tuple[Redis, str],
) -> None:
    client, key = redis
    log = LocalEventLog(100, 60, "")
    node = emitter(client, key, log)
    await node.start()
    try:
        await node.emit_logged("caption_progress", {"n": 0}, "/", ["user_1"])  # alone: the plain script call
        pipelines = counting_pipelines(client)
        await asyncio.gather(*(node.emit_logged("caption_progress", {"n": n}, "/", ["user_1"]) for n in range(1, 21)))
        assert len(pipelines) == 1
        await until(lambda: log.position == 21)
        entries = log.since("/", {"user_1": 0}, 0)
        assert entries is not None
        assert [e.text for e in entries] == [f'2["caption_progress",{{"n":{n}}},"{n + 1}"]' for n in range(21)]
    finally:
        await node.stop()


async def test_a_burst_after_redis_lost_its_scripts_is_still_numbered(redis: tuple[Redis, str]) -> None:
    client, key = redis
    log = LocalEventLog(100, 60, "")
    node = emitter(client, key, log)
    await node.start()
    try:
        await node.emit_logged("user_notification", {"n": 0}, "/", ["user_1"])
        await client.script_flush()  # a restarted Redis: EVALSHA answers NOSCRIPT
        await asyncio.gather(*(node.emit_logged("user_notification", {"n": n}, "/", ["user_1"]) for n in range(1, 6)))
        await until(lambda: log.position == 6)
        entries = log.since("/", {"user_1": 0}, 0)
        assert entries is not None and [e.seq for e in entries] == [1, 2, 3, 4, 5, 6]
    finally:
        await node.stop()


class RecordingManager:
    """Records the unnumbered emits the log falls back to when Redis fails."""

    rooms: dict[str, Any] = {}

    def __init__(self) -> None:
        self.emitted: list[tuple[str, Any, str, Any]] = []

    async def emit(self, event: str, data: Any, namespace: str, room: Any) -> None:
        self.emitted.append((event, data, namespace, room))


async def test_every_event_of_a_failed_burst_is_delivered_unnumbered() -> None:
    unreachable = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1)
    manager = RecordingManager()
    node = RedisLoggedEmitter(unreachable, manager, None, "vrt-test-unreachable:log", per_room=10, total=100, window=60)
    try:
        await asyncio.gather(*(node.emit_logged("user_notification", {"n": n}, "/", ["user_1"]) for n in range(5)))
        assert sorted(data["n"] for _, data, _, _ in manager.emitted) == [0, 1, 2, 3, 4]
        assert {(event, namespace, str(room)) for event, _, namespace, room in manager.emitted} == {
            ("user_notification", "/", "['user_1']")
        }
        await node.emit_logged("user_notification", {"n": 5}, "/", "user_1")  # the breaker is open: no wait on Redis
        assert manager.emitted[-1] == ("user_notification", {"n": 5}, "/", "user_1")
    finally:
        await node.stop()
        await unreachable.aclose()
