"""Connecting: who is let in on `/` and `/admin`, and the exact refusal each other caller gets."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import aiohttp

from domain.identity import Role, new_session
from tests.integration.harness import Server
from tests.integration.waiting import eventually

ISO = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$"


def assert_refusal(data: dict, event: str, code: str) -> None:
    import re

    assert data["message"], data
    inner = data["data"]
    assert inner["event"] == event
    assert inner["error_code"] == code
    assert re.match(ISO, inner["timestamp"])
    assert inner["message_id"]


async def test_user_connects_with_session_in_auth_and_joins_personal_room(server: Server) -> None:
    session = await server.session("demo")
    client = await server.client(session)
    try:
        reply = await client.call("join_room", {"room_name": f"user_{session.user_id}_captions"})
        assert reply["success"] is True
    finally:
        await client.close()


async def test_cookie_session_is_accepted(server: Server) -> None:
    session = await server.session("demo")
    client = await server.client(session, via_cookie=True)
    await client.close()


async def test_no_session_gets_auth_required(server: Server) -> None:
    client = await server.client(None, expect_refusal=True)
    assert_refusal(client.connect_error, "auth_required", "AUTH_REQUIRED")
    assert client.connect_error["data"]["redirect_url"] == "/login"
    assert client.connect_error["data"]["message"] == "Authentication required for WebSocket connection"


async def test_unknown_session_gets_auth_error(server: Server) -> None:
    fake = type("S", (), {"id": "not-a-session", "csrf_token": "x"})()
    client = await server.client(fake, expect_refusal=True)
    assert_refusal(client.connect_error, "auth_error", "AUTH_INVALID_SESSION")


async def test_expired_session_gets_auth_error(server: Server) -> None:
    # Issued an hour ago for a minute: expired without waiting for it.
    user = await server.container.users().get_by_username("demo")
    assert user is not None
    session = new_session(uuid.uuid4().hex, uuid.uuid4().hex, user, time.time() - 3600, 60)
    await server.container.sessions().add(session)
    client = await server.client(session, expect_refusal=True)
    assert_refusal(client.connect_error, "auth_error", "AUTH_INVALID_SESSION")


async def test_revoked_session_gets_auth_error(server: Server) -> None:
    session = await server.session("demo")
    await server.container.revoke_session()(session.id)
    client = await server.client(session, expect_refusal=True)
    assert_refusal(client.connect_error, "auth_error", "AUTH_INVALID_SESSION")


async def test_inactive_user_gets_auth_error(server: Server) -> None:
    user = await server.container.add_user()("sleepy", Role.VIEWER)
    session = await server.session("sleepy")
    await server.container.users().set_active(user.id, False)
    client = await server.client(session, expect_refusal=True)
    assert_refusal(client.connect_error, "auth_error", "AUTH_INVALID_SESSION")


async def test_non_admin_is_refused_on_admin_namespace(server: Server) -> None:
    session = await server.session("demo")
    client = await server.client(session, "/admin", expect_refusal=True)
    assert_refusal(client.connect_error, "auth_error", "AUTH_INSUFFICIENT_PRIVILEGES")


async def test_admin_connects_on_admin_namespace(server: Server) -> None:
    session = await server.session("admin")
    client = await server.client(session, "/admin")
    try:
        update = await client.inbox.next("system_status_update", timeout=5)
        assert update["component"] in {"websocket_server", "database"}
    finally:
        await client.close()


async def test_wrong_csrf_in_auth_is_refused(server: Server) -> None:
    session = await server.session("demo")
    client = await server.client(session, csrf="wrong", expect_refusal=True)
    assert_refusal(client.connect_error, "error", "CSRF_TOKEN_INVALID")


async def test_revoked_while_connected_gets_auth_error_and_is_disconnected(server: Server) -> None:
    session = await server.session("demo")
    client = await server.client(session)
    await server.container.revoke_session()(session.id)
    error = await client.inbox.next("auth_error")
    assert error["error_code"] == "AUTH_INVALID_SESSION"
    assert error["redirect_url"] == "/login"
    await eventually(lambda: not client.sio.connected, within=2.5, what="disconnected")


async def test_revoked_elsewhere_is_found_by_the_sweep(server: Server) -> None:
    """Revoked in storage only (as by another process's CLI): the periodic sweep ends the socket."""
    session = await server.session("demo")
    client = await server.client(session)
    await server.container.sessions().revoke(session.id)
    error = await client.inbox.next("auth_error", timeout=5)
    assert error["error_code"] == "AUTH_INVALID_SESSION"


async def test_expiry_while_connected_ends_the_socket(server: Server) -> None:
    session = await server.session("demo", ttl=0.6)
    client = await server.client(session)
    error = await client.inbox.next("auth_error", timeout=5)
    assert error["error_code"] == "AUTH_INVALID_SESSION"


async def test_sixth_connection_of_a_user_is_refused(server: Server) -> None:
    session = await server.session("demo")
    clients = [await server.client(session) for _ in range(5)]
    try:
        sixth = await server.client(session, expect_refusal=True)
        assert_refusal(sixth.connect_error, "error", "CONNECTION_LIMIT_EXCEEDED")
        await clients[0].close()
        await eventually(lambda: len(server.container.registry()) == 4, what="the closed connection released")
        again = await server.client(session)
        clients.append(again)
    finally:
        for c in clients:
            await c.close()


async def test_admin_sees_user_connect_activity(server: Server) -> None:
    admin = await server.client(await server.session("admin"), "/admin")
    try:
        user_session = await server.session("demo")
        user = await server.client(user_session)
        activity = await admin.inbox.until(
            "user_activity_update", lambda a: a["activity_type"] == "connected" and a["username"] == "demo"
        )
        assert activity["user_id"] == user_session.user_id
        assert activity["username"] == "demo"
        assert activity["details"]["namespace"] == "/"
        await user.close()
        left = await admin.inbox.until("user_activity_update", lambda a: a["activity_type"] == "disconnected")
        assert left["user_id"] == user_session.user_id
    finally:
        await admin.close()


async def test_long_polling_works_as_well_as_websocket(server: Server) -> None:
    session = await server.session("demo")
    client = await server.client(session, via_cookie=True, transports=["polling"])
    try:
        reply = await client.call("request_caption_status", {})
        assert reply["user_id"] == session.user_id
    finally:
        await client.close()


async def test_a_polling_client_that_closes_by_post_gets_its_pending_poll_answered_at_once(server: Server) -> None:
    """Upstream leaves the GET waiting for a whole ping cycle (45 s): the client's own disconnect() hangs on it."""
    session = await server.session("demo")
    base = f"{server.url}/socket.io/?EIO=4&transport=polling"
    async with aiohttp.ClientSession() as http:
        async with http.get(base) as answer:
            sid = json.loads((await answer.text())[1:])["sid"]
        polling = f"{base}&sid={sid}"
        auth = json.dumps({"session_id": session.id, "csrf_token": session.csrf_token})
        async with http.post(polling, data=f"40{auth}") as answer:
            assert answer.status == 200
        async with http.get(polling) as answer:
            assert (await answer.text()).startswith("40{")

        async def pending_poll() -> str:
            async with http.get(polling) as answer:
                return await answer.text()

        waiting = asyncio.create_task(pending_poll())
        # The GET must be waiting in the engine before the CLOSE: one that came after would be a plain 400.
        await eventually(lambda: server.container.sio().eio.sockets[sid].queue._getters)
        async with http.post(polling, data="1") as answer:
            assert answer.status == 200
        assert await asyncio.wait_for(waiting, 10) == "6"
