"""Client events through the gate, wired by hand (no container): each check's answer, rooms, and socket ends."""

from __future__ import annotations

from dataclasses import replace

import pytest

from application.client_events import Reply, Route
from application.commands import PauseCaptionGenerationCommand
from application.connections import Connection
from application.routes import CLIENT_EVENTS, client_routes
from domain.access import captions_room, personal_room
from domain.events import CLIENT_EVENT_SCHEMAS
from domain.identity import Role
from tests.unit.twins import World, limits


async def connected(world: World, username: str = "demo", role: Role = Role.REVIEWER, ttl: float = 3600) -> Connection:
    session = await world.session(await world.user(username, role), ttl)
    return await world.connect(f"sid-{username}", f"eio-{username}", "/", session.id, session.csrf_token, "ip")


def code(payload: object) -> str:
    assert isinstance(payload, dict), payload
    return str(payload["error_code"])


async def test_a_reply_is_stamped_carries_the_correlation_id_and_is_sent_to_the_socket() -> None:
    world = World()
    conn = await connected(world)
    reply = await world.gate.handle(conn.sid, "request_caption_status", ({"correlation_id": "c-1"},))
    assert isinstance(reply, dict) and reply["is_active"] is False and reply["correlation_id"] == "c-1"
    assert reply["timestamp"] == "2023-11-14T22:13:20.000Z"
    (sent,) = world.transport.sent
    assert (sent.event, sent.to, sent.payload) == ("caption_status_response", conn.sid, reply)


@pytest.mark.parametrize(
    ("event", "args", "expected"),
    [
        ("no_such_event", ({},), "UNKNOWN_EVENT"),
        (["not", "a", "name"], ({},), "UNKNOWN_EVENT"),
        ("join_room", ({},), "INVALID_MESSAGE"),  # room_name is required
        ("join_room", ({"room_name": "x" * 101},), "INVALID_MESSAGE"),
        ("request_caption_status", ({}, {}), "INVALID_MESSAGE"),  # one object at most
        ("request_caption_status", ({"padding": "x" * 200},), "MESSAGE_TOO_LARGE"),
        ("join_room", ({"room_name": "user_99"},), "AUTH_INSUFFICIENT_PRIVILEGES"),
    ],
)
async def test_each_refusal_is_answered_in_the_error_format_and_changes_nothing(
    event: object, args: tuple[object, ...], expected: str
) -> None:
    world = World(limits=limits(max_message_bytes=150))
    conn = await connected(world)
    rooms_before = {sid: set(rooms) for sid, rooms in world.transport.rooms.items()}
    answer = await world.gate.handle(conn.sid, event, args)
    assert code(answer) == expected
    assert world.transport.sent[-1].event == "error" and world.transport.sent[-1].payload == answer
    assert world.transport.rooms == rooms_before and conn.rooms == frozenset()


async def test_rooms_are_scoped_to_the_callers_own_user_id_and_admins_join_any() -> None:
    world = World()
    demo = await connected(world)
    joined = await world.gate.handle(demo.sid, "join_room", ({"room_name": captions_room(demo.user.id)},))
    assert isinstance(joined, dict) and joined["success"] is True
    assert world.transport.rooms[demo.sid] == {personal_room(demo.user.id), captions_room(demo.user.id)}
    left = await world.gate.handle(demo.sid, "leave_room", ({"room_name": captions_room(demo.user.id)},))
    assert isinstance(left, dict) and left["success"] is True
    assert world.transport.rooms[demo.sid] == {personal_room(demo.user.id)}
    boss = await connected(world, "boss", Role.ADMIN)
    anywhere = await world.gate.handle(boss.sid, "join_room", ({"room_name": captions_room(demo.user.id)},))
    assert isinstance(anywhere, dict) and anywhere["success"] is True


async def test_an_event_on_an_expired_session_ends_the_socket_with_auth_error() -> None:
    world = World()
    conn = await connected(world, ttl=60)
    world.clock.advance(61)
    assert await world.gate.handle(conn.sid, "request_caption_status", ({},)) is None
    assert [d.event for d in world.transport.sent] == ["auth_error"]
    assert world.transport.sent[0].payload["error_code"] == "AUTH_INVALID_SESSION"
    assert world.transport.disconnected == [conn.sid]


async def test_an_unknown_socket_gets_nothing() -> None:
    world = World()
    assert await world.gate.handle("never-connected", "request_caption_status", ({},)) is None
    assert world.transport.sent == []


async def test_a_use_case_that_crashes_is_answered_as_internal_error_and_the_gate_stays_up() -> None:
    world = World()
    conn = await connected(world)

    async def broken(conn: Connection, data: dict[str, object]) -> object:
        raise RuntimeError("a bug")

    world.gate._routes = {**world.routes, "request_caption_status": Route({}, broken)}  # type: ignore[dict-item]
    answer = await world.gate.handle(conn.sid, "request_caption_status", ({},))
    assert code(answer) == "INTERNAL_ERROR"
    world.gate._routes = world.routes
    ok = await world.gate.handle(conn.sid, "request_caption_status", ({},))
    assert isinstance(ok, dict) and ok["is_active"] is False


async def test_the_message_rate_is_per_user_and_recovers_on_the_clock() -> None:
    world = World(limits=limits(messages=2))
    conn = await connected(world)
    for _ in range(2):
        assert isinstance(await world.gate.handle(conn.sid, "request_caption_status", ({},)), dict)
    refused = await world.gate.handle(conn.sid, "request_caption_status", ({},))
    assert code(refused) == "RATE_LIMIT_EXCEEDED"
    world.clock.advance(60.001)
    again = await world.gate.handle(conn.sid, "request_caption_status", ({},))
    assert isinstance(again, dict) and again["is_active"] is False


def test_the_routing_table_declares_every_client_event_of_the_reference_once() -> None:
    names = [event.name for event in CLIENT_EVENTS]
    assert len(names) == len(set(names))
    assert set(names) == set(CLIENT_EVENT_SCHEMAS)


def test_the_use_cases_are_bound_by_event_name_and_a_missing_or_unknown_one_is_refused() -> None:
    world = World()
    given = {name: route.use_case for name, route in world.routes.items()}
    with pytest.raises(ValueError, match="missing for \\['join_room'\\]"):
        client_routes(**{k: v for k, v in given.items() if k != "join_room"})
    with pytest.raises(ValueError, match="unknown events \\['join_rooms'\\]"):
        client_routes(**given, join_rooms=given["join_room"])


async def test_each_use_case_receives_its_typed_command_not_the_raw_payload() -> None:
    world = World()
    conn = await connected(world)
    seen: list[object] = []

    async def spy(conn: Connection, command: object) -> Reply:
        seen.append(command)
        return Reply("caption_status_response", {})

    pause = replace(world.routes["pause_caption_generation"], use_case=spy)
    world.gate._routes = {**world.routes, "pause_caption_generation": pause}
    await world.gate.handle(conn.sid, "pause_caption_generation", ({"reason": "tea"},))
    assert seen == [PauseCaptionGenerationCommand(user_id=None, reason="tea")]
