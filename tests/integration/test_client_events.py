"""Client-to-server events and their refusals, each answered by event and by ack in the documented format."""

from __future__ import annotations

import pytest

from tests.integration.harness import Server, serve, settings_for


def assert_error(payload: dict, code: str, original_event: str | None) -> None:
    assert set(payload) >= {"error_code", "error_message", "error_details", "retry_possible", "timestamp", "message_id"}
    assert payload["error_code"] == code, payload
    assert payload["error_details"]["original_event"] == original_event
    assert isinstance(payload["retry_possible"], bool)


async def test_join_and_leave_own_room(server: Server) -> None:
    session = await server.session("demo")
    client = await server.client(session)
    try:
        room = f"user_{session.user_id}_captions"
        joined = await client.call("join_room", {"room_name": room, "room_type": "user_specific", "message_id": "j1"})
        assert joined == joined | {"room_name": room, "success": True, "message": "Successfully joined room"}
        assert joined["correlation_id"] == "j1"
        assert client.inbox.of("room_joined")[-1] == joined  # the same answer also arrives as the event
        left = await client.call("leave_room", {"room_name": room})
        assert left == left | {"room_name": room, "success": True, "message": "Successfully left room"}
        await client.inbox.next("room_left")
    finally:
        await client.close()


async def test_another_users_room_is_refused(server: Server) -> None:
    session = await server.session("demo")
    client = await server.client(session)
    try:
        reply = await client.call("join_room", {"room_name": f"user_{session.user_id + 1}_captions"})
        assert_error(reply, "AUTH_INSUFFICIENT_PRIVILEGES", "join_room")
        assert client.inbox.of("error")[-1] == reply
        for room in ("admins", "general", "user_x"):
            refused = await client.call("join_room", {"room_name": room})
            assert refused["error_code"] == "AUTH_INSUFFICIENT_PRIVILEGES"
    finally:
        await client.close()


async def test_admin_may_join_any_room(server: Server) -> None:
    client = await server.client(await server.session("admin"))
    try:
        reply = await client.call("join_room", {"room_name": "user_1_captions"})
        assert reply["success"] is True
    finally:
        await client.close()


async def test_status_of_another_user_is_refused_but_admins_may_ask(server: Server) -> None:
    demo = await server.session("demo")
    admin = await server.session("admin")
    user_client = await server.client(demo)
    admin_client = await server.client(admin, "/admin")
    try:
        refused = await user_client.call("request_caption_status", {"user_id": admin.user_id})
        assert_error(refused, "AUTH_INSUFFICIENT_PRIVILEGES", "request_caption_status")
        allowed = await admin_client.call("request_caption_status", {"user_id": demo.user_id})
        assert allowed["user_id"] == demo.user_id and allowed["is_active"] is False
    finally:
        await user_client.close()
        await admin_client.close()


async def test_pause_without_a_job_is_a_clear_error(server: Server) -> None:
    client = await server.client(await server.session("demo"))
    try:
        assert_error(await client.call("pause_caption_generation", {}), "NO_ACTIVE_JOB", "pause_caption_generation")
        assert_error(await client.call("resume_caption_generation", {}), "NO_ACTIVE_JOB", "resume_caption_generation")
    finally:
        await client.close()


@pytest.mark.parametrize(
    ("event", "data", "code"),
    [
        ("no_such_event", {}, "UNKNOWN_EVENT"),
        ("join_room", {}, "INVALID_MESSAGE"),
        ("join_room", {"room_name": 42}, "INVALID_MESSAGE"),
        ("join_room", {"room_name": "user_1", "surprise": 1}, "INVALID_MESSAGE"),
        ("join_room", "not an object", "INVALID_MESSAGE"),
        ("join_room", {"room_name": "<script>alert(1)</script>"}, "INVALID_MESSAGE"),
        ("request_caption_status", {"user_id": "1"}, "INVALID_MESSAGE"),
        ("request_caption_status", {"user_id": 1.5}, "INVALID_MESSAGE"),
        ("pause_caption_generation", {"reason": "x" * 1001}, "INVALID_MESSAGE"),
        ("request_caption_status", {"timestamp": "yesterday"}, "INVALID_MESSAGE"),
        ("join_room", {"room_name": "user_1", "padding": "x" * 12_000}, "MESSAGE_TOO_LARGE"),
    ],
)
async def test_bad_input_gets_the_standard_error_and_changes_nothing(
    sqlite_server: Server, event: str, data: object, code: str
) -> None:
    session = await sqlite_server.session("demo")
    client = await sqlite_server.client(session)
    try:
        reply = await client.call(event, data)
        assert reply["error_code"] == code, reply
        assert client.inbox.of("error")[-1] == reply
        ok = await client.call("request_caption_status", {})
        assert ok["user_id"] == session.user_id  # the socket still works
    finally:
        await client.close()


async def test_csrf_is_required_per_event_when_not_proven_at_connect(sqlite_server: Server) -> None:
    session = await sqlite_server.session("demo")
    client = await sqlite_server.client(session, csrf=False)
    try:
        missing = await client.call("request_caption_status", {})
        assert_error(missing, "CSRF_TOKEN_INVALID", "request_caption_status")
        wrong = await client.call("request_caption_status", {"csrf_token": "nope"})
        assert wrong["error_code"] == "CSRF_TOKEN_INVALID"
        ok = await client.call("request_caption_status", {"csrf_token": session.csrf_token})
        assert ok["user_id"] == session.user_id
    finally:
        await client.close()


async def test_the_101st_event_in_a_minute_is_refused_and_not_counted(tmp_path) -> None:
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'rl.db'}", rate_limit_messages=100)
    async with serve(settings) as server:
        session = await server.session("demo")
        first = await server.client(session)
        second = await server.client(session)  # the limit is per user, across their sockets
        try:
            for _ in range(60):
                await first.emit("request_caption_status", {})
            for _ in range(40):
                await second.emit("request_caption_status", {})
            await first.inbox.until(
                "caption_status_response", lambda _: len(first.inbox.of("caption_status_response")) == 60
            )
            await second.inbox.until(
                "caption_status_response", lambda _: len(second.inbox.of("caption_status_response")) == 40
            )
            refused = await second.call("request_caption_status", {"message_id": "over"})
            assert refused["error_code"] == "RATE_LIMIT_EXCEEDED"
            assert refused["limit"] == 100 and refused["remaining"] == 0
            assert refused["reset_time"].endswith("Z") and refused["correlation_id"] == "over"
            assert refused["error_details"] == {
                "original_event": "request_caption_status",
                "user_id": session.user_id,
                "limit": 100,
                "remaining": 0,
                "reset_time": refused["reset_time"],
            }
            assert second.inbox.of("rate_limit_exceeded") == []  # answered once: by the ack it asked for
            await first.emit("request_caption_status", {"message_id": "no-ack"})
            assert (await first.inbox.next("rate_limit_exceeded"))["correlation_id"] == "no-ack"
            total = len(first.inbox.of("caption_status_response")) + len(second.inbox.of("caption_status_response"))
            assert total == 100
        finally:
            await first.close()
            await second.close()


async def test_a_client_event_named_like_a_reserved_event_is_just_unknown(sqlite_server: Server) -> None:
    session = await sqlite_server.session("demo")
    client = await sqlite_server.client(session)
    try:
        for name in ("connect", "disconnect"):
            reply = await client.call(name, {"HTTP_COOKIE": "session=forged"})
            assert reply["error_code"] == "UNKNOWN_EVENT"
        assert len(sqlite_server.container.registry()) == 1
        ok = await client.call("request_caption_status", {})
        assert ok["user_id"] == session.user_id
    finally:
        await client.close()


async def test_one_clients_errors_do_not_reach_another(sqlite_server: Server) -> None:
    a = await sqlite_server.client(await sqlite_server.session("demo"))
    b = await sqlite_server.client(await sqlite_server.session("admin"))
    try:
        await a.call("no_such_event", {})
        # A round trip of b's after a's call: anything sent to b because of a's call would have come first.
        await b.call("request_caption_status", {})
        assert b.inbox.of("error") == []
    finally:
        await a.close()
        await b.close()


async def test_a_malformed_message_id_is_never_echoed(sqlite_server: Server) -> None:
    client = await sqlite_server.client(await sqlite_server.session("demo"))
    try:
        reply = await client.call("request_caption_status", {"message_id": "<img src=x onerror=alert(1)>"})
        assert reply["error_code"] == "INVALID_MESSAGE"
        assert "correlation_id" not in reply
    finally:
        await client.close()
