"""The doors a real-time service is attacked through: origins, proxies, connect floods, binary and malformed packets."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest

from tests.integration.harness import Server, serve, settings_for
from tests.integration.rawio import RawSocket
from tests.integration.waiting import eventually

FOREIGN = "https://evil.example"


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_a_foreign_origin_is_refused_on_both_transports(sqlite_server: Server, transport: str) -> None:
    session = await sqlite_server.session("demo")
    client = await sqlite_server.client(
        session, transports=[transport], headers={"Origin": FOREIGN}, expect_refusal=True
    )
    assert not client.sio.connected
    query = "EIO=4&transport=polling" if transport == "polling" else "EIO=4&transport=websocket"
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{sqlite_server.url}/socket.io/?{query}", headers={"Origin": FOREIGN}) as answer,
    ):
        body = await answer.json()
    assert answer.status == 403 and body["data"]["error_code"] == "CORS_ORIGIN_NOT_ALLOWED"
    assert sqlite_server.container.security().counts["origin_refused"] >= 2


@pytest.mark.parametrize("origin", ["http://127.0.0.1:5000", "http://localhost:5000"])
async def test_the_configured_origin_is_accepted_with_localhost_alias(sqlite_server: Server, origin: str) -> None:
    client = await sqlite_server.client(await sqlite_server.session("demo"), headers={"Origin": origin})
    await client.close()


async def test_the_101st_connect_attempt_from_an_ip_is_refused(tmp_path: Path) -> None:
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'ip.db'}", connect_attempts_per_hour=100)
    async with serve(settings) as server:
        session = await server.session("demo")
        for _ in range(100):
            raw = await RawSocket.open(server.url)
            answer = await raw.connect({"session_id": session.id, "csrf_token": session.csrf_token})
            assert answer.startswith("40{"), answer
            await raw.close()
        refused = await server.client(session, expect_refusal=True)
        data = refused.connect_error["data"]
        assert data["error_code"] == "RATE_LIMIT_EXCEEDED" and data["limit"] == 100 and data["remaining"] == 0


async def test_forwarded_for_is_believed_only_from_a_trusted_proxy(tmp_path: Path) -> None:
    settings = settings_for(
        f"sqlite+aiosqlite:///{tmp_path / 'xff.db'}", connect_attempts_per_hour=2, trusted_proxies="127.0.0.1/32"
    )
    async with serve(settings) as server:
        session = await server.session("demo")
        for client_ip in ("203.0.113.7", "203.0.113.7", "203.0.113.8"):
            raw = await RawSocket.open(server.url, {"X-Forwarded-For": f"{client_ip}, 127.0.0.1"})
            assert (await raw.connect({"session_id": session.id}))[:3] == "40{"
            await raw.close()
        raw = await RawSocket.open(server.url, {"X-Forwarded-For": "203.0.113.7"})
        assert '"RATE_LIMIT_EXCEEDED"' in await raw.connect({"session_id": session.id})
        await raw.close()

    untrusted = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'xff2.db'}", connect_attempts_per_hour=2)
    async with serve(untrusted) as server:
        session = await server.session("demo")
        for client_ip in ("203.0.113.1", "203.0.113.2"):  # spoofed headers all count for the real peer
            raw = await RawSocket.open(server.url, {"X-Forwarded-For": client_ip})
            await raw.connect({"session_id": session.id})
            await raw.close()
        raw = await RawSocket.open(server.url, {"X-Forwarded-For": "203.0.113.3"})
        assert '"RATE_LIMIT_EXCEEDED"' in await raw.connect({"session_id": session.id})
        await raw.close()


async def test_binary_attachments_are_refused_without_being_buffered(sqlite_server: Server) -> None:
    session = await sqlite_server.session("demo")
    raw = await RawSocket.open(sqlite_server.url)
    try:
        await raw.connect({"session_id": session.id, "csrf_token": session.csrf_token})
        await raw.send('451-["join_room",{"_placeholder":true,"num":0}]')
        await raw.send(b"\x00" * 1000)
        error = await raw.event("error")
        assert error["error_code"] == "INVALID_MESSAGE" and "Binary" in error["error_message"]
        await raw.send('420["request_caption_status",{}]')
        assert '"user_id"' in await raw.expect(lambda m: m.startswith("430"))
    finally:
        await raw.close()
    assert sqlite_server.container.security().counts["binary_refused"] >= 2


async def test_security_events_are_summarised_to_admins(sqlite_server: Server) -> None:
    user = await sqlite_server.client(await sqlite_server.session("demo"))
    admin = await sqlite_server.client(await sqlite_server.session("admin"), "/admin")
    try:
        await user.call("join_room", {"room_name": "admins"})
        await user.call("no_such_event", {})
        status = await admin.inbox.until(
            "system_status_update",
            lambda s: s["component"] == "websocket_server" and s["metrics"]["security_events"].get("invalid_message"),
        )
        assert status["metrics"]["security_events"]["invalid_message"] == 1
    finally:
        await user.close()
        await admin.close()


GARBAGE: list[str | bytes] = [
    "",
    "4",
    "42",
    "42[",
    '42["join_room",',
    "42{}",
    "42[1,2,3]",
    '42[{"a":1}]',
    "42[null]",
    "42[]",
    '4299999999999999999999999999["request_caption_status",{}]',
    '42["request_caption_status",' + "[" * 5000 + "]" * 5000 + "]",
    '42["join_room",{"room_name":"\\ud800"}]',
    '42["join_room",{"room_name":"user_1"},{"extra":true}]',
    '42/nowhere,["join_room",{}]',
    "44{}",
    "49",
    '43["ack for nothing"]',
    "40/admin,{}",
    "41/nowhere,",
    "6",
    b"\xff\xfe\x00garbage",
    "\udcff".encode("utf-8", "surrogatepass"),
]


async def test_garbage_never_breaks_the_server_or_another_client(
    sqlite_server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    control_session = await sqlite_server.session("admin")
    control = await sqlite_server.client(control_session)
    session = await sqlite_server.session("demo")
    try:
        for frame in GARBAGE:
            try:
                raw = await RawSocket.open(sqlite_server.url)
                await raw.connect({"session_id": session.id, "csrf_token": session.csrf_token})
                await raw.send(frame)
                await raw.send('420["request_caption_status",{}]')
                await raw.expect(lambda m: m.startswith("430"), timeout=2)
            except (ConnectionError, TimeoutError):
                pass  # the server may close a socket that sent garbage; it must not fall over
            finally:
                await raw.close()
            reply = await control.call("request_caption_status", {})
            assert reply["user_id"] == control_session.user_id, frame
        # Nothing of the garbage stays behind: only the control client's socket and connection remain.
        await eventually(
            lambda: len(sqlite_server.container.sio().eio.sockets) == 1, what="only the control socket left"
        )
        assert len(sqlite_server.container.registry()) == 1
    finally:
        await control.close()
    unhandled = [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL") and r.exc_info]
    assert unhandled == [], [r.getMessage() for r in unhandled]


POLLING_GARBAGE = ["", "x", "4", "42[", "\x1e\x1e", "42[\x1e", "b!!!", "4" * 20_000]


async def test_garbage_over_long_polling_is_answered_not_raised(
    sqlite_server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    session = await sqlite_server.session("demo")
    base = f"{sqlite_server.url}/socket.io/?EIO=4&transport=polling"
    async with aiohttp.ClientSession() as http:
        for body in POLLING_GARBAGE:
            async with http.get(base) as opened:
                sid = json.loads((await opened.text())[1:])["sid"]
            async with http.post(f"{base}&sid={sid}", data=body.encode()) as answer:
                assert answer.status in (200, 400), answer.status
    control = await sqlite_server.client(session)
    try:
        assert (await control.call("request_caption_status", {}))["user_id"] == session.user_id
    finally:
        await control.close()
    unhandled = [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    assert unhandled == [], [r.getMessage() for r in unhandled]
    assert sqlite_server.container.security().counts["malformed_packet"] >= 1
