"""ConnectClient and DisconnectClient on the in-memory twins and a fake clock: who gets in, and what each refusal is."""

from __future__ import annotations

import pytest

from application.limits import connection_slot_key
from domain.access import ADMIN_NAMESPACE, ADMIN_ROOM, personal_room
from domain.errors import DomainError, ErrorCode
from domain.identity import Role
from tests.unit.twins import World, limits


async def refused(world: World, *args: object) -> ErrorCode:
    with pytest.raises(DomainError) as caught:
        await world.connect(*args)  # type: ignore[arg-type]
    return caught.value.code


async def test_a_session_connects_into_its_personal_room_and_admins_hear_of_it() -> None:
    world = World()
    demo = await world.user("demo")
    session = await world.session(demo)
    conn = await world.connect("s1", "e1", "/", session.id, session.csrf_token, "10.0.0.1")
    assert conn.user == demo and conn.csrf_token is None  # proven by the token at connect
    assert world.registry.get("s1") == conn
    assert world.transport.rooms == {"s1": {personal_room(demo.id)}}
    (activity,) = world.publisher.deliveries
    assert (activity.event, activity.namespace, activity.to) == ("user_activity_update", ADMIN_NAMESPACE, ADMIN_ROOM)
    assert (
        activity.payload["activity_type"] == "connected" and activity.payload["timestamp"] == "2023-11-14T22:13:20.000Z"
    )


async def test_without_a_csrf_token_each_event_must_prove_it() -> None:
    world = World()
    session = await world.session(await world.user("demo"))
    conn = await world.connect("s1", "e1", "/", session.id, None, "10.0.0.1")
    assert conn.csrf_token == session.csrf_token


async def test_each_refusal_has_its_code_and_changes_nothing() -> None:
    world = World()
    demo = await world.user("demo")
    sleepy = await world.user("sleepy", active=False)
    session = await world.session(demo)
    assert await refused(world, "s", "e", "/", None, None, "ip") is ErrorCode.AUTH_REQUIRED
    assert await refused(world, "s", "e", "/", "no-such-session", None, "ip") is ErrorCode.AUTH_INVALID_SESSION
    assert await refused(world, "s", "e", "/", session.id, "wrong", "ip") is ErrorCode.CSRF_TOKEN_INVALID
    assert await refused(world, "s", "e", ADMIN_NAMESPACE, session.id, None, "ip") is (
        ErrorCode.AUTH_INSUFFICIENT_PRIVILEGES
    )
    inactive = await world.session(sleepy)
    assert await refused(world, "s", "e", "/", inactive.id, None, "ip") is ErrorCode.AUTH_INVALID_SESSION
    assert len(world.registry) == 0 and world.transport.rooms == {} and world.publisher.deliveries == []
    assert world.slots.count(connection_slot_key(demo.id)) == 0


async def test_a_session_expires_on_the_clock() -> None:
    world = World()
    session = await world.session(await world.user("demo"), ttl=60)
    world.clock.advance(59)
    await world.connect("s1", "e1", "/", session.id, None, "ip")
    world.clock.advance(2)
    assert await refused(world, "s2", "e2", "/", session.id, None, "ip") is ErrorCode.AUTH_INVALID_SESSION


async def test_an_admin_connects_on_the_admin_namespace_into_the_admin_room() -> None:
    world = World()
    session = await world.session(await world.user("boss", Role.ADMIN))
    await world.connect("s1", "e1", ADMIN_NAMESPACE, session.id, None, "ip")
    assert world.transport.rooms == {"s1": {ADMIN_ROOM}}


async def test_connections_per_user_count_physical_sockets_and_a_disconnect_frees_one() -> None:
    world = World(limits=limits(per_user=2))
    session = await world.session(await world.user("demo"))
    await world.connect("a/", "eio-a", "/", session.id, None, "ip")
    await world.connect("b/", "eio-b", "/", session.id, None, "ip")
    assert await refused(world, "c/", "eio-c", "/", session.id, None, "ip") is ErrorCode.CONNECTION_LIMIT_EXCEEDED
    # A second namespace on an already counted socket takes no slot.
    admin_ok = await world.session(await world.user("boss", Role.ADMIN))
    await world.connect("x/", "eio-x", "/", admin_ok.id, None, "ip")
    await world.connect("x/admin", "eio-x", ADMIN_NAMESPACE, admin_ok.id, None, "ip")
    await world.disconnect("a/", "client disconnect")
    await world.connect("c/", "eio-c", "/", session.id, None, "ip")
    assert world.publisher.events("user_activity_update")[-2]["activity_type"] == "disconnected"


async def test_connect_attempts_are_limited_per_address_before_anything_else_and_recover_with_time() -> None:
    world = World(limits=limits(connect_attempts=2))
    session = await world.session(await world.user("demo"), ttl=86400)
    assert await refused(world, "s1", "e1", "/", None, None, "10.0.0.9") is ErrorCode.AUTH_REQUIRED
    await world.connect("s2", "e2", "/", session.id, None, "10.0.0.9")
    # The third attempt is refused for its address even with a valid session; another address still gets in.
    assert await refused(world, "s3", "e3", "/", session.id, None, "10.0.0.9") is ErrorCode.RATE_LIMIT_EXCEEDED
    await world.connect("s4", "e4", "/", session.id, None, "10.0.0.10")
    world.clock.advance(3600.001)
    await world.connect("s5", "e5", "/", session.id, None, "10.0.0.9")


async def test_disconnecting_an_unknown_socket_is_a_no_op() -> None:
    world = World()
    await world.disconnect("never-connected", "transport close")
    assert world.publisher.deliveries == []
