"""Finding 2 against real server processes: handshakes that never connect a namespace cannot hold memory;
handshakes per IP are limited (fleet-wide over Redis); oversized headers are refused whole."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import aiohttp
import pytest

from tests.integration.hostile import RssWatch, server_process

POLLING = "/socket.io/?EIO=4&transport=polling"


def _headers(count: int, size: int) -> dict[str, str]:
    return {f"X-Padding-{i}": "p" * size for i in range(count)}


async def _handshake(http: aiohttp.ClientSession, url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    """(status, sid or error body) of one polling handshake."""
    async with http.get(url + POLLING, headers=headers or {}) as answer:
        text = await answer.text()
    if answer.status == 200 and text.startswith("0{"):
        return 200, json.loads(text[1:])["sid"]
    return answer.status, text


async def _post(http: aiohttp.ClientSession, url: str, sid: str, body: str) -> int:
    async with http.post(f"{url}{POLLING}&sid={sid}", data=body.encode()) as answer:
        await answer.read()
        return answer.status


@pytest.mark.exclusive  # a control client's round trip under a flood is bounded
async def test_handshakes_that_never_connect_cannot_hold_memory(tmp_path: Path) -> None:
    """200 polling handshakes with big headers, kept alive by bare `3` POSTs, never connecting a namespace."""
    async with server_process(tmp_path, connect_timeout_seconds=2) as server:
        control = await server.client(await server.session("admin"))
        trips = [await server.round_trip(control)]
        sids: list[str] = []
        statuses: dict[int, int] = {}
        async with RssWatch(server) as watch, aiohttp.ClientSession() as http:
            # Past the header limits (100 headers of 8 KB, as in the finding): refused whole.
            assert (await _handshake(http, server.url, _headers(100, 8000)))[0] == 400
            gate = asyncio.Semaphore(8)

            async def one() -> None:
                async with gate:
                    status, sid = await _handshake(http, server.url, _headers(60, 4000))
                statuses[status] = statuses.get(status, 0) + 1
                if status == 200:
                    sids.append(sid)

            await asyncio.gather(*(one() for _ in range(200)))
            trips.append(await server.round_trip(control))
            deadline = time.monotonic() + 8
            alive = list(sids)
            while alive and time.monotonic() < deadline:  # keep them alive the way the finding did
                answers = await asyncio.gather(*(_post(http, server.url, sid, "3") for sid in alive))
                alive = [sid for sid, status in zip(alive, answers, strict=True) if status == 200]
                trips.append(await server.round_trip(control))
                await asyncio.sleep(0.5)
        await control.close()
        print(f"handshakes {statuses}: RSS +{watch.growth_mb:.1f} MB, control max {max(trips) * 1000:.0f} ms")
        assert server.alive()
        # HANDSHAKES_PER_IP_PER_MINUTE (120), the control client's own handshake included
        assert statuses.get(200) == 119 and statuses.get(429) == 81, statuses
        assert alive == [], f"{len(alive)} handshakes outlived the namespace-connect timeout"
        assert watch.growth_mb < 30, f"RSS grew {watch.growth_mb:.0f} MB"
        assert max(trips) < 2.0
        log = server.log()
    assert "security event handshake_timeout" in log and "security event handshake_rate_limited" in log
    assert "security event bad_http_request" in log and "Traceback" not in log  # the 100-header request


BROWSER_HEADERS = {  # what Chrome sends on a socket.io polling request, with a 4 KB Flask session cookie
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
    "Accept": "*/*",
    "Accept-Language": "en-GB,en-US;q=0.9,en;q=0.8",
    "Accept-Encoding": "gzip, deflate, br, zstd",
    "Referer": "http://127.0.0.1/",
    "Sec-Fetch-Dest": "empty",
    "Sec-Fetch-Mode": "cors",
    "Sec-Fetch-Site": "same-origin",
    "Sec-Ch-Ua": '"Chromium";v="131", "Not_A Brand";v="24"',
    "Sec-Ch-Ua-Mobile": "?0",
    "Sec-Ch-Ua-Platform": '"Linux"',
    "Cookie": "session=" + "e" * 4096 + "; remember_token=1|" + "f" * 128,
}


@pytest.mark.exclusive  # a control client's round trip under a flood is bounded
async def test_the_findings_oversized_handshakes_are_refused_within_the_memory_bound(tmp_path: Path) -> None:
    """The finding's exact shape: 200 polling handshakes with 100 headers of 8 KB each (8 at a time), while a
    browser-sized handshake with a 4 KB session cookie still passes and a control client keeps its round trip."""
    async with server_process(tmp_path) as server:
        control = await server.client(await server.session("admin"))
        trips = [await server.round_trip(control)]
        statuses: dict[int, int] = {}
        async with RssWatch(server) as watch, aiohttp.ClientSession() as http:
            gate = asyncio.Semaphore(8)

            async def one() -> None:
                async with gate:
                    status, _ = await _handshake(http, server.url, _headers(100, 8 * 1024))
                statuses[status] = statuses.get(status, 0) + 1

            for _ in range(4):
                await asyncio.gather(*(one() for _ in range(50)))
                trips.append(await server.round_trip(control))
            browser = await _handshake(http, server.url, BROWSER_HEADERS)
        await control.close()
        print(f"oversized handshakes {statuses}: RSS +{watch.growth_mb:.1f} MB, control max {max(trips) * 1000:.0f} ms")
        assert server.alive()
        assert statuses == {400: 200}, statuses
        assert browser[0] == 200, browser
        assert watch.growth_mb < 30, f"RSS grew {watch.growth_mb:.0f} MB"
        assert max(trips) < 2.0
        log = server.log()
    assert log.count("security event bad_http_request") == 200 and "Traceback" not in log


@pytest.mark.redis
async def test_the_handshake_budget_is_fleet_wide_over_redis(tmp_path: Path) -> None:
    settings = {
        "redis_url": "redis://127.0.0.1:6379/0",
        "redis_channel": f"hostile-{uuid.uuid4().hex[:8]}",
        "handshakes_per_ip_per_minute": 10,
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'fleet.db'}",
    }
    async with (
        server_process(tmp_path, **settings) as node_a,
        server_process(tmp_path, **settings) as node_b,
        aiohttp.ClientSession() as http,
    ):
        for i in range(10):
            status, _ = await _handshake(http, (node_a if i % 2 else node_b).url)
            assert status == 200
        status, body = await _handshake(http, node_a.url)
        assert status == 429 and json.loads(body)["data"]["error_code"] == "RATE_LIMIT_EXCEEDED"
        assert (await _handshake(http, node_b.url))[0] == 429


async def test_forwarded_for_from_an_untrusted_peer_warns_once_and_is_ignored(tmp_path: Path) -> None:
    async with server_process(tmp_path, handshakes_per_ip_per_minute=3) as server, aiohttp.ClientSession() as http:
        for i in range(3):  # spoofed addresses all count for the real peer
            assert (await _handshake(http, server.url, {"X-Forwarded-For": f"203.0.113.{i}"}))[0] == 200
        assert (await _handshake(http, server.url, {"X-Forwarded-For": "203.0.113.9"}))[0] == 429
        log = server.log()
    assert log.count("X-FORWARDED-FOR FROM AN UNTRUSTED PEER") == 1 and "set TRUSTED_PROXIES" in log
