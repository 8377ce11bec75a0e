"""Engine.IO pings from the server's one PingClock: on time for every socket, a silent client still closed, no task per
socket, and nothing left behind by sockets that ended."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp

from adapters.inbound.socketio.engine_patches import GuardedEngine
from tests.integration.harness import Server
from tests.integration.waiting import eventually

INTERVAL = 0.4  # the engine's ping interval in these tests (default 25 s)
TIMEOUT = 0.4


def _engine(server: Server) -> GuardedEngine:
    engine = server.container.sio().eio
    assert isinstance(engine, GuardedEngine)
    engine.ping_interval = INTERVAL
    engine.ping_timeout = TIMEOUT
    return engine


class Raw:
    """A websocket client that connects a namespace and records when each PING arrives, answering it or not."""

    def __init__(self, http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse, answer: bool) -> None:
        self.http, self.ws, self.answer = http, ws, answer
        self.pings: list[float] = []
        self.closed = asyncio.Event()
        self.reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def open(cls, server: Server, answer: bool = True) -> Raw:
        session = await server.session()
        http = aiohttp.ClientSession()
        ws = await http.ws_connect(server.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket")
        assert (await ws.receive_str(timeout=5)).startswith("0{")
        await ws.send_str("40" + json.dumps({"session_id": session.id, "csrf_token": session.csrf_token}))
        assert (await ws.receive_str(timeout=5)).startswith("40")
        return cls(http, ws, answer)

    async def _read(self) -> None:
        try:
            async for message in self.ws:
                if message.type == aiohttp.WSMsgType.TEXT and message.data == "2":
                    self.pings.append(time.monotonic())
                    if self.answer:
                        await self.ws.send_str("3")
        finally:
            self.closed.set()

    async def close(self) -> None:
        self.reader.cancel()
        await self.ws.close()
        await self.http.close()


def _ping_tasks() -> list[Any]:
    return [t for t in asyncio.all_tasks() if "_send_ping" in getattr(t.get_coro(), "__qualname__", "")]


async def test_every_socket_is_pinged_each_interval_by_one_clock_and_no_task_of_its_own(server: Server) -> None:
    engine = _engine(server)
    clients = [await Raw.open(server) for _ in range(5)]
    try:
        await eventually(lambda: all(len(c.pings) >= 3 for c in clients), within=15, what="three pings each")
        assert _ping_tasks() == []  # upstream sleeps a task per socket until its next ping
        for client in clients:
            gaps = [b - a for a, b in zip(client.pings, client.pings[1:], strict=False)]
            assert min(gaps) >= INTERVAL * 0.9, gaps  # a ping is due one interval after the last pong, not sooner
            assert not client.closed.is_set()
        assert len(engine.ping_clock()) <= len(clients)  # at most one pending ping per socket
    finally:
        for client in clients:
            await client.close()


async def test_a_client_that_does_not_answer_pings_is_closed(server: Server) -> None:
    _engine(server)
    silent = await Raw.open(server, answer=False)
    talking = await Raw.open(server)
    try:
        await asyncio.wait_for(silent.closed.wait(), timeout=15)
        assert len(silent.pings) == 1  # pinged once, never again without a pong
        assert not talking.closed.is_set() and len(talking.pings) >= 1
    finally:
        await silent.close()
        await talking.close()


async def test_sockets_that_ended_leave_nothing_in_the_clock(server: Server) -> None:
    engine = _engine(server)
    clients = [await Raw.open(server) for _ in range(20)]
    await eventually(lambda: all(c.pings for c in clients), within=15, what="a ping each")
    for client in clients:
        await client.close()
    await eventually(lambda: len(engine.sockets) == 0, within=10, what="every engine socket gone")
    await eventually(lambda: len(engine.ping_clock()) == 0, within=INTERVAL * 10, what="an empty ping clock")
