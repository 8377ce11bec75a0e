"""Two Socket.IO servers sharing a DirectRedisManager channel: every emit reaches each client once, on the direct path."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import pytest
import socketio  # type: ignore[import-untyped]
from aiohttp import web

from adapters.inbound.socketio.redis_manager import DirectRedisManager
from tests.integration.test_redis_signals_and_revocations import throwaway_redis
from tests.integration.waiting import eventually

pytestmark = pytest.mark.redis

URL = "redis://127.0.0.1:6379/0"
ROOM = "news-room"


MARKER = {"marker": True}


async def emit_marker(channel: str) -> None:
    """MARKER to ROOM on every node, from a write-only manager: one more message on the channel."""
    marker = DirectRedisManager(URL, channel=channel, write_only=True)
    try:
        await asyncio.wait_for(marker.emit("news", MARKER, namespace="/", room=ROOM), 2)
    finally:
        await marker.close()


@asynccontextmanager
async def node(channel: str, url: str = URL) -> AsyncIterator[socketio.AsyncServer]:
    manager = DirectRedisManager(url, channel=channel)
    sio = socketio.AsyncServer(async_mode="aiohttp", client_manager=manager, logger=False, engineio_logger=False)

    @sio.event  # type: ignore[untyped-decorator]
    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        await sio.enter_room(sid, ROOM)

    app = web.Application()
    sio.attach(app)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    sio.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield sio
    finally:
        await manager.close()
        await sio.shutdown()
        await runner.cleanup()


@asynccontextmanager
async def client(url: str) -> AsyncIterator[list[Any]]:
    received: list[Any] = []
    sio = socketio.AsyncClient(reconnection=False)
    sio.on("news", lambda *args: received.append(args[0] if len(args) == 1 else list(args)))
    await sio.connect(url, transports=["websocket"], wait_timeout=5)
    try:
        yield received
    finally:
        await sio.disconnect()


@pytest.fixture
def no_task_per_recipient(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stock AsyncManager.emit (one task per recipient) must never be reached."""

    async def stock_emit(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("delivered through the stock AsyncManager.emit")

    monkeypatch.setattr(socketio.AsyncManager, "emit", stock_emit)


async def two_nodes_with_clients(
    stack: AsyncExitStack, channel: str
) -> tuple[socketio.AsyncServer, list[Any], list[Any]]:
    node_a = await stack.enter_async_context(node(channel))
    node_b = await stack.enter_async_context(node(channel))
    on_a = await stack.enter_async_context(client(node_a.url))
    on_b = await stack.enter_async_context(client(node_b.url))
    # A server's manager starts listening at its first connection; the subscription follows shortly.
    await eventually(lambda: node_a.manager.listening and node_b.manager.listening, within=5, what="listening")
    return node_a, on_a, on_b


@pytest.mark.usefixtures("no_task_per_recipient")
async def test_an_emit_on_one_node_reaches_the_clients_of_both_exactly_once() -> None:
    channel = f"vrt-test:sio:{uuid.uuid4().hex}"
    async with AsyncExitStack() as stack:
        node_a, on_a, on_b = await two_nodes_with_clients(stack, channel)
        await asyncio.wait_for(node_a.emit("news", {"n": 1}, to=ROOM), 2)
        await asyncio.wait_for(node_a.emit("news", ({"n": 2}, "extra"), to=ROOM), 2)
        await eventually(lambda: len(on_a) == 2 and len(on_b) == 2, within=3, what="delivered to both")
        # A marker from a third manager, through the channel after A's emits: a duplicate (e.g. A's
        # listener delivering its own message again) would reach its client before the marker.
        await emit_marker(channel)
        await eventually(lambda: on_a[-1:] == on_b[-1:] == [MARKER], within=3, what="the marker delivered to both")
        assert on_a == on_b == [{"n": 1}, [{"n": 2}, "extra"], MARKER]


@pytest.mark.usefixtures("no_task_per_recipient")
async def test_a_write_only_manager_without_a_server_reaches_both_nodes() -> None:
    channel = f"vrt-test:sio:{uuid.uuid4().hex}"
    async with AsyncExitStack() as stack:
        _, on_a, on_b = await two_nodes_with_clients(stack, channel)
        worker = DirectRedisManager(URL, channel=channel, write_only=True)
        try:
            await asyncio.wait_for(worker.emit("news", {"from": "worker"}, namespace="/", room=ROOM), 2)
            await asyncio.wait_for(worker.emit("news", {"to": "nobody"}, namespace="/", room="empty-room"), 2)
            assert not worker.listening
        finally:
            await worker.close()
        await eventually(lambda: on_a == on_b == [{"from": "worker"}], within=3, what="delivered to both")
        await emit_marker(channel)  # after the worker's emits on the same channel: a duplicate would come first
        await eventually(lambda: on_a[-1:] == on_b[-1:] == [MARKER], within=3, what="the marker delivered to both")
        assert on_a == on_b == [{"from": "worker"}, MARKER]


async def test_the_listener_reports_a_redis_restart_and_comes_back() -> None:
    channel = f"vrt-test:sio:{uuid.uuid4().hex}"
    async with throwaway_redis() as server, node(channel, server.url) as sio, client(sio.url) as received:
        manager = sio.manager
        await eventually(lambda: manager.listening, within=5, what="listening")
        await server.kill()
        await eventually(lambda: not manager.listening, within=5, what="seen as down")
        await server.start()
        await eventually(lambda: manager.listening, within=8, what="re-subscribed")
        worker = DirectRedisManager(server.url, channel=channel, write_only=True)
        try:
            await asyncio.wait_for(worker.emit("news", {"after": "restart"}, namespace="/", room=ROOM), 2)
        finally:
            await worker.close()
        await eventually(lambda: received == [{"after": "restart"}], within=3, what="delivered after the restart")
