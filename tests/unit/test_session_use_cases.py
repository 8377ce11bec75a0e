"""Adding users, issuing, revoking and sweeping sessions on the in-memory twins and a fake clock."""

from __future__ import annotations

import pytest

from application.sessions import AddUser, IssueSession, RevokeSession, SweepSessions
from domain.errors import DomainError, ErrorCode
from domain.identity import Role
from tests.unit.twins import World


class RecordingBus:
    def __init__(self, fails: bool = False) -> None:
        self.published: list[set[str]] = []
        self._fails = fails

    async def publish(self, session_ids: set[str]) -> None:
        if self._fails:
            raise ConnectionError("the bus is down")
        self.published.append(session_ids)


async def test_add_user_refuses_bad_and_taken_names() -> None:
    world = World()
    add = AddUser(world.users)
    carol = await add("carol.b_2", Role.MODERATOR)
    assert (carol.username, carol.role, carol.active) == ("carol.b_2", Role.MODERATOR, True)
    # one rule with the session schema's pattern: ASCII only (str.isalnum accepted any Unicode letter or digit)
    for bad in (
        "",
        "x" * 101,
        "has space",
        "semi;colon",
        "\u00fcn\u00efcode",
        "\u0661\u0662\u0663",
        "\uff46\uff55\uff4c\uff4c",
    ):
        with pytest.raises(DomainError) as caught:
            await add(bad, Role.VIEWER)
        assert caught.value.code is ErrorCode.INVALID_MESSAGE
    with pytest.raises(DomainError) as caught:
        await add("carol.b_2", Role.VIEWER)
    assert caught.value.code is ErrorCode.CONFLICT  # taken: the ports' taxonomy, as a race would say it
    assert [u.username for u in [await world.users.get(1), await world.users.get(2)] if u] == ["carol.b_2"]


async def test_issue_session_lives_its_ttl_on_the_clock_and_only_for_active_users() -> None:
    world = World()
    issue = IssueSession(world.users, world.sessions, world.tokens, world.clock, default_ttl=600)
    demo = await world.user("demo")
    await world.user("sleepy", active=False)
    session = await issue("demo")
    assert session.user_id == demo.id and session.expires_at == world.clock.now() + 600
    assert session.id != session.csrf_token
    assert await world.sessions.get(session.id) == session
    for username in ("sleepy", "nobody"):
        with pytest.raises(DomainError) as caught:
            await issue(username)
        assert caught.value.code is ErrorCode.NOT_FOUND
    for ttl in (0, -1, 367 * 86400):
        with pytest.raises(DomainError) as caught:
            await issue("demo", ttl)
        assert caught.value.code is ErrorCode.INVALID_MESSAGE


async def test_revoke_stores_first_then_tells_every_node_and_survives_a_bus_failure() -> None:
    world = World()
    demo = await world.user("demo")
    first, second = await world.session(demo), await world.session(demo)
    bus = RecordingBus()
    assert await RevokeSession(world.sessions, bus)(first.id) is True
    assert bus.published == [{first.id}]
    assert await RevokeSession(world.sessions, bus)("no-such-session") is False
    assert bus.published == [{first.id}]
    assert await RevokeSession(world.sessions, RecordingBus(fails=True))(second.id) is True  # the sweep will act
    assert await world.sessions.dead_among({first.id, second.id}, world.clock.now()) == {first.id, second.id}


async def test_the_sweep_ends_the_sockets_of_dead_sessions_only() -> None:
    world = World()
    sweep = SweepSessions(world.registry, world.source, world.end_connections, world.clock)
    assert await sweep() == 0  # nobody connected: nothing to ask
    demo, other = await world.user("demo"), await world.user("other")
    short, long = await world.session(demo, ttl=60), await world.session(other, ttl=3600)
    await world.connect("s-short", "e1", "/", short.id, None, "ip")
    await world.connect("s-long", "e2", "/", long.id, None, "ip")
    world.clock.advance(30)
    assert await sweep() == 0 and world.transport.disconnected == []
    world.clock.advance(31)
    assert await sweep() == 1
    assert world.transport.disconnected == ["s-short"]
    (ended,) = [d for d in world.transport.sent if d.event == "auth_error"]
    assert ended.to == "s-short" and ended.payload["error_code"] == "AUTH_INVALID_SESSION"
    await world.disconnect("s-short", "server disconnect")  # what the socket server does once it has closed it
    await world.sessions.revoke(long.id)
    assert await sweep() == 1 and world.transport.disconnected == ["s-short", "s-long"]
