"""Findings 1 and 2 against a real server process: clients that never read, or never connect a namespace,
cannot grow its memory (RSS measured from outside) nor slow down a control client."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.integration.hostile import NeverReader, RssWatch, ServerProcess, server_process

pytestmark = pytest.mark.exclusive  # floods that must not slow a control client: the machine to themselves
GROWTH_LIMIT_MB = 30
ACKED_STATUS = '421["request_caption_status",{}]'  # refused events used to be answered twice: event and ack
UNKNOWN = '42["no_such_event",{}]'  # answered by a ~600-byte error (it lists the known events), no database work


async def _control(server: ServerProcess) -> tuple[Any, list[float]]:
    client = await server.client(await server.session("admin"))
    await server.round_trip(client)
    return client, []


async def _keep_measuring(server: ServerProcess, client: Any, trips: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        trips.append(await server.round_trip(client))
        await asyncio.sleep(0.2)


async def _flood(readers: list[NeverReader], frame: str, seconds: float, max_frames: int) -> int:
    """Writes `frame` on every reader, 200 at a time, until `seconds` or `max_frames` per reader pass."""
    deadline = time.monotonic() + seconds
    live = list(readers)
    while live and time.monotonic() < deadline:
        for reader in list(live):
            if reader.frames_sent >= max_frames or not await reader.send(frame, 200):
                live.remove(reader)
        await asyncio.sleep(0)
    return sum(r.frames_sent for r in readers)


async def _until_dropped(reader: NeverReader, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if reader.dropped():
            return True
        await asyncio.sleep(0.1)
    return reader.dropped()


async def _under_attack(server: ServerProcess, attack: Any) -> tuple[RssWatch, list[float]]:
    client, trips = await _control(server)
    stop = asyncio.Event()
    try:
        async with RssWatch(server) as watch:
            measuring = asyncio.get_running_loop().create_task(_keep_measuring(server, client, trips, stop))
            try:
                await attack()
            finally:
                stop.set()
                await measuring
        trips.append(await server.round_trip(client))
    finally:
        await client.close()
    return watch, trips


def _assert_bounded(server: ServerProcess, watch: RssWatch, trips: list[float], what: str) -> None:
    print(f"{what}: RSS +{watch.growth_mb:.1f} MB, control round trips max {max(trips) * 1000:.0f} ms")
    assert watch.growth_mb < GROWTH_LIMIT_MB, f"{what}: RSS grew {watch.growth_mb:.0f} MB"
    assert max(trips) < 2.0, f"{what}: the control client waited {max(trips):.1f} s"


async def test_never_reading_sockets_of_one_user_cannot_grow_memory(tmp_path: Path) -> None:
    """Finding 1: a viewer's never-reading sockets flood acked request_caption_status past the rate limit for 4 s;
    the server then works through what its receive buffers hold (~5 s here; before the fix it grew +84 MB), watched
    until it idles (at most 16 s)."""
    async with server_process(tmp_path) as server:
        session = await server.session("demo")
        auth = "40" + json.dumps({"session_id": session.id, "csrf_token": session.csrf_token})
        readers: list[NeverReader] = []

        async def attack() -> None:
            for _ in range(2):
                reader = await NeverReader.open(server.url)
                await reader.send(auth)
                readers.append(reader)
            await _flood(readers, ACKED_STATUS, seconds=4.0, max_frames=400_000)
            await server.until_idle(at_most=16)  # the observation window: the server must live through it

        watch, trips = await _under_attack(server, attack)
        assert server.alive()
        for reader in readers:
            reader.close()
        sent = sum(r.frames_sent for r in readers)
    _assert_bounded(server, watch, trips, f"2 never-reading sockets, {sent} acked events")
    assert "security event rate_limited" in server.log()


async def test_a_socket_that_does_not_read_is_dropped_at_its_outbound_budget(tmp_path: Path) -> None:
    """Every event is answered (no rate limit in the way): the answers pile up until the budget drops the socket."""
    async with server_process(tmp_path, rate_limit_messages=10**9) as server:
        session = await server.session("demo")
        reader = await NeverReader.open(server.url)

        async def attack() -> None:
            await reader.send("40" + json.dumps({"session_id": session.id, "csrf_token": session.csrf_token}))
            await _flood([reader], UNKNOWN, seconds=6.0, max_frames=60_000)
            assert await _until_dropped(reader, 60.0)  # a bound, not a wait: a loaded machine answers slower

        watch, trips = await _under_attack(server, attack)
        assert server.alive()
        reader.close()
    _assert_bounded(server, watch, trips, f"one never-reading socket, {reader.frames_sent} events sent")
    assert "security event slow_consumer" in server.log()


async def test_a_writer_stuck_on_a_full_tcp_window_is_freed_by_the_write_timeout(tmp_path: Path) -> None:
    """Under its budget, a socket whose writer waits on a client that stopped reading is closed after the timeout."""
    settings = {
        "rate_limit_messages": 10**9,
        "socket_outbound_max_packets": 10**6,
        "socket_outbound_max_bytes": 10**9,
        "socket_write_timeout_seconds": 1.0,
    }
    async with server_process(tmp_path, **settings) as server:
        session = await server.session("demo")
        reader = await NeverReader.open(server.url)
        await reader.send("40" + json.dumps({"session_id": session.id, "csrf_token": session.csrf_token}))
        await _flood([reader], UNKNOWN, seconds=4.0, max_frames=20_000)
        assert await _until_dropped(reader, 20.0)
        reader.close()
        log = server.log()
    assert "security event write_timeout" in log, log[-2000:]


async def test_repeated_namespace_connects_on_a_never_read_socket_are_cut_off(tmp_path: Path) -> None:
    """Finding 1, second part: no valid session, `40` repeated on one socket that never reads. Each CONNECT
    carries another made-up session id, so no per-credential back-off slows its refusals down."""
    async with server_process(tmp_path) as server:
        reader = await NeverReader.open(server.url)

        async def attack() -> None:
            deadline = time.monotonic() + 3.0
            batch = 0
            while time.monotonic() < deadline and batch < 1000:
                frames = ["40" + json.dumps({"session_id": f"made-up-{batch}-{i}"}) for i in range(200)]
                if not await reader.send_each(frames):
                    break
                batch += 1
            assert await _until_dropped(reader, 5.0)

        watch, trips = await _under_attack(server, attack)
        assert server.alive()
        reader.close()
    _assert_bounded(server, watch, trips, f"repeated CONNECT, {reader.frames_sent} frames")
    assert "security event connect_flood" in server.log()


async def test_a_polling_client_that_never_polls_is_dropped_at_its_outbound_budget(tmp_path: Path) -> None:
    """The same budget over long-polling: events POSTed, answers never fetched by a GET."""
    async with server_process(tmp_path, rate_limit_messages=10**9) as server:
        session = await server.session("demo")
        base = f"{server.url}/socket.io/?EIO=4&transport=polling"
        statuses: list[int] = []
        async with aiohttp.ClientSession() as http:
            async with http.get(base) as opened:
                sid = json.loads((await opened.text())[1:])["sid"]
            auth = "40" + json.dumps({"session_id": session.id, "csrf_token": session.csrf_token})
            batch = "\x1e".join([UNKNOWN] * 16).encode()  # the engine decodes at most 16 packets per POST
            async with http.post(f"{base}&sid={sid}", data=auth.encode()) as answer:
                statuses.append(answer.status)
            for _ in range(200):  # 3,200 answers at most, against a budget of 1,000 packets
                async with http.post(f"{base}&sid={sid}", data=batch) as answer:
                    statuses.append(answer.status)
                if answer.status != 200:
                    break
        log = server.log()
    assert statuses[0] == 200 and statuses[-1] == 400, statuses
    assert "security event slow_consumer" in log and "transport=polling" in log
