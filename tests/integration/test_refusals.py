"""Refused connects, the reference's way: an event on an accepted connection, then a server disconnect.

Each refusal carries the standard envelope; nothing the client sends before the disconnect is processed;
no connection slot is held; repeated refusals back off and end in CONNECTION_REFUSED; REFUSAL_MODE=connect_error
keeps the CONNECT_ERROR answer. Also the connect-time producers of CONNECTION_TIMEOUT,
CORS_CREDENTIALS_ERROR and TRANSPORT_ERROR, and the CSRF modes.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from dependency_injector import providers

from application.ports import SessionCheck, StorageFailed
from tests.integration.harness import Server, serve, settings_for
from tests.integration.rawio import RawSocket

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ALLOWED = "http://127.0.0.1:5000"  # allowed by default (FLASK_HOST:FLASK_PORT)


def assert_envelope(
    payload: dict[str, Any], event: str, code: str, namespace: str = "/", *, retry_possible: bool = False
) -> None:
    assert payload["event"] == event
    assert payload["error_code"] == code
    assert payload["error_message"] and payload["message"] == payload["error_message"]
    assert payload["error_details"]["original_event"] == "connect"
    assert payload["error_details"]["namespace"] == namespace
    assert payload["retry_possible"] is retry_possible
    assert ISO.match(payload["timestamp"]) and payload["message_id"]


def frames_after_connect(frames: list[str]) -> list[str]:
    return [f for f in frames if f != "2"]


async def refused_raw(server: Server, auth: dict[str, Any], namespace: str = "/", headers: Any = None) -> list[str]:
    """Connects by hand, sends events at once, and returns every Socket.IO frame until the server disconnects."""
    raw = await RawSocket.open(server.url, headers)
    prefix = "" if namespace == "/" else namespace + ","
    try:
        await raw.send("40" + prefix + json.dumps(auth))
        await raw.send("42" + prefix + '["join_room",{"room_name":"user_1"}]')
        await raw.send("421" + prefix + '["request_caption_status",{}]')
        frames = [await raw.expect(lambda m: m.startswith("4"))]
        while not frames[-1].startswith("41") and not frames[-1].startswith("44"):
            frames.append(await raw.expect(lambda m: m.startswith("4"), timeout=15))
        return frames
    finally:
        await raw.close()


async def test_each_refusal_is_an_event_with_the_envelope_then_a_server_disconnect(sqlite_server: Server) -> None:
    demo = await sqlite_server.session("demo")
    cases = [
        ({}, "/", "auth_required", "AUTH_REQUIRED"),
        ({"session_id": "nope"}, "/", "auth_error", "AUTH_INVALID_SESSION"),
        (
            {"session_id": demo.id, "csrf_token": demo.csrf_token},
            "/admin",
            "auth_error",
            "AUTH_INSUFFICIENT_PRIVILEGES",
        ),
        ({"session_id": demo.id, "csrf_token": "wrong"}, "/", "error", "CSRF_TOKEN_INVALID"),
    ]
    for auth, namespace, event, code in cases:
        frames = await refused_raw(sqlite_server, auth, namespace)
        prefix = "" if namespace == "/" else namespace + ","
        assert frames[0].startswith("40" + prefix + "{"), frames  # accepted: the client's `connect` fires
        assert frames[1].startswith("42" + prefix + f'["{event}",'), frames
        assert frames[2].startswith("41"), frames  # then the server disconnects the namespace
        assert len(frames) == 3, frames  # nothing answered in between: no room_joined, no ack "431"
        payload = json.loads(frames[1][frames[1].index("[") :])[1]
        assert_envelope(payload, event, code, namespace)
        if event in ("auth_required", "auth_error"):
            assert payload["redirect_url"] == "/login"
    assert len(sqlite_server.container.registry()) == 0
    assert sqlite_server.container.security().counts.get("csrf_refused", 0) == 1


async def test_a_refused_connection_holds_no_slot(tmp_path: Path) -> None:
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 's.db'}", max_connections_per_user=1)
    async with serve(settings) as server:
        demo = await server.session("demo")
        first = await server.client(demo)
        try:
            refused = await server.client(demo, expect_refusal=True)
            assert refused.refused_by_event == "error"
            data = refused.connect_error["data"]
            assert_envelope(data, "error", "CONNECTION_LIMIT_EXCEEDED")
            assert data["limit"] == 1
            assert data["retry_possible"] is False and data["error_details"]["retry_later"] is True
        finally:
            await first.close()
        await asyncio.sleep(0)  # the refused one never held a slot: the next connect gets the freed one
        again = await server.client(demo)
        await again.close()


async def test_repeated_refusals_back_off_then_become_connection_refused(tmp_path: Path) -> None:
    settings = settings_for(
        f"sqlite+aiosqlite:///{tmp_path / 'b.db'}", refusals_before_hard_refusal=3, refusal_backoff_max_seconds=0.5
    )
    async with serve(settings) as server:
        times = []
        for _ in range(3):
            started = time.monotonic()
            refused = await server.client(None, expect_refusal=True)
            times.append(time.monotonic() - started)
            assert refused.refused_by_event == "auth_required"
        assert times[0] < 0.4 and times[1] >= 0.45 and times[2] >= 0.45, times
        hard = await server.client(None, expect_refusal=True)
        assert hard.refused_by_event is None  # a CONNECT_ERROR: the stock client does not retry it
        data = hard.connect_error["data"]
        assert_envelope(data, "error", "CONNECTION_REFUSED")
        assert data["error_details"]["refused_for"] == "AUTH_REQUIRED"
        other = await server.client(await server.session("demo"))  # another client is not affected
        await other.close()


async def test_connect_error_mode_keeps_the_old_answer_with_the_envelope(tmp_path: Path) -> None:
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}", refusal_mode="connect_error")
    async with serve(settings) as server:
        frames = await refused_raw(server, {})
        assert len(frames) == 1 and frames[0].startswith("44{"), frames
        data = json.loads(frames[0][2:])
        assert data["message"] == "Authentication required for WebSocket connection"
        assert data["data"]["event"] == "auth_required" and data["data"]["error_code"] == "AUTH_REQUIRED"
        assert data["data"]["error_details"]["original_event"] == "connect"


class SlowSource:
    """A session source whose store hangs (as a host database under a lock would)."""

    async def resolve(self, credential: str) -> Any:
        await asyncio.sleep(30)

    def csrf_matches(self, presented: str, secret: str) -> bool:
        return False

    async def recheck(self, session_ids: set[str], now: float) -> SessionCheck:
        return SessionCheck(dead=set(), users={})


async def test_a_session_check_that_hangs_is_connection_timeout(tmp_path: Path) -> None:
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 't.db'}", connect_check_timeout=0.3)

    def slow(container: Any) -> None:
        container.uncached_session_source.override(providers.Object(SlowSource()))

    async with serve(settings, slow) as server:
        refused = await server.client(await server.session("demo"), expect_refusal=True)
        data = refused.connect_error["data"]
        assert_envelope(data, "error", "CONNECTION_TIMEOUT")
        assert data["error_details"]["retry_later"] is True


async def test_a_cross_origin_polling_handshake_without_cookies_is_cors_credentials_error(
    sqlite_server: Server,
) -> None:
    base = f"{sqlite_server.url}/socket.io/?EIO=4&transport=polling"
    headers = {"Origin": ALLOWED}
    async with aiohttp.ClientSession() as http:
        async with http.get(base, headers=headers) as opened:
            sid = json.loads((await opened.text())[1:])["sid"]
        async with http.post(f"{base}&sid={sid}", data="40", headers=headers) as posted:
            assert posted.status == 200
        async with http.get(f"{base}&sid={sid}", headers=headers) as polled:
            frames = (await polled.text()).split("\x1e")
    # auth_required: no cookie means no session (signed out, expired, or no withCredentials), so the
    # reference's redirect-to-login runs; the code names the cause a developer may have to fix
    assert frames[0].startswith("40{") and frames[1].startswith('42["auth_required",') and frames[2] == "41", frames
    data = json.loads(frames[1][2:])[1]
    assert_envelope(data, "auth_required", "CORS_CREDENTIALS_ERROR")
    assert data["error_details"]["origin"] == ALLOWED and "withCredentials" in data["error_message"]
    assert data["redirect_url"] == "/login"
    # With a cookie (withCredentials: true), the same request is judged by its session.
    demo = await sqlite_server.session("demo")
    ok = await sqlite_server.client(demo, via_cookie=True, transports=["polling"], headers={"Origin": ALLOWED})
    await ok.close()


async def test_an_undecodable_packet_is_answered_with_transport_error(sqlite_server: Server) -> None:
    demo = await sqlite_server.session("demo")
    raw = await RawSocket.open(sqlite_server.url)
    try:
        await raw.connect({"session_id": demo.id, "csrf_token": demo.csrf_token})
        await raw.send('42["join_room",')
        error = await raw.event("error")
        assert error["error_code"] == "TRANSPORT_ERROR" and error["retry_possible"] is False
        await raw.send('420["request_caption_status",{}]')
        assert '"user_id"' in await raw.expect(lambda m: m.startswith("430"))  # the connection goes on
    finally:
        await raw.close()


@pytest.mark.parametrize(
    ("mode", "headers", "proven"),
    [
        ("origin", {"Origin": ALLOWED}, True),
        ("origin", {"Sec-Fetch-Site": "same-origin"}, True),
        ("origin", {"Sec-Fetch-Site": "same-site"}, False),
        ("origin", {}, False),  # not a browser: a token as before
        ("token", {"Origin": ALLOWED}, False),
    ],
)
async def test_csrf_modes(tmp_path: Path, mode: str, headers: dict[str, str], proven: bool) -> None:
    async with serve(settings_for(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}", csrf_mode=mode)) as server:
        demo = await server.session("demo")
        client = await server.client(demo, via_cookie=True, csrf=False, headers=headers)
        try:
            reply = await client.call("join_room", {"room_name": f"user_{demo.user_id}_captions"})
            if proven:
                assert reply["success"] is True, reply
            else:
                assert reply["error_code"] == "CSRF_TOKEN_INVALID", reply
        finally:
            await client.close()
        if mode == "origin":  # a wrong token is still refused when one is sent
            wrong = await server.client(
                demo, via_cookie=True, csrf="wrong", headers={"Origin": ALLOWED}, expect_refusal=True
            )
            assert wrong.connect_error["data"]["error_code"] == "CSRF_TOKEN_INVALID"


def test_frames_helper() -> None:
    assert frames_after_connect(["2", "40{}"]) == ["40{}"]


class FailingSource:
    """A session source that fails as told: a database error, or anything unexpected."""

    def __init__(self) -> None:
        self.failure: BaseException = RuntimeError("boom")

    async def resolve(self, credential: str) -> Any:
        raise self.failure

    def csrf_matches(self, presented: str, secret: str) -> bool:
        return False

    async def recheck(self, session_ids: set[str], now: float) -> SessionCheck:
        return SessionCheck(dead=set(), users={})


async def test_connect_failures_and_limits_carry_the_standard_envelope_too(tmp_path: Path) -> None:
    """The refusals the first test cannot provoke with a plain session: each is the full envelope."""
    source = FailingSource()
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'e.db'}", connect_attempts_per_hour=3)

    def failing(container: Any) -> None:
        container.uncached_session_source.override(providers.Object(source))

    async with serve(settings, failing) as server:
        source.failure = StorageFailed()
        refused = await server.client(SimpleNamespace(id="a"), expect_refusal=True, csrf=False)
        assert_envelope(refused.connect_error["data"], "error", "DATABASE_ERROR")
        source.failure = RuntimeError("an unexpected failure")
        refused = await server.client(SimpleNamespace(id="b"), expect_refusal=True, csrf=False)
        assert_envelope(refused.connect_error["data"], "error", "INTERNAL_ERROR")
        assert "unexpected" not in json.dumps(refused.connect_error)  # the exception's text stays in the log
        await server.client(SimpleNamespace(id="c"), expect_refusal=True, csrf=False)  # the 3rd attempt this hour
        flood = await server.client(SimpleNamespace(id="d"), expect_refusal=True, csrf=False)
        assert flood.refused_by_event is None  # a CONNECT_ERROR
        data = flood.connect_error["data"]
        assert_envelope(data, "error", "RATE_LIMIT_EXCEEDED", retry_possible=True)  # after reset_time
        assert data["limit"] == 3 and data["remaining"] == 0 and ISO.match(data["reset_time"])
