"""The per-node session view: no round trip for a known session, and never an answer staler than the sweep's."""

from __future__ import annotations

import asyncio

import pytest

from adapters.outbound.memory.sessions import InMemorySessionRepository
from adapters.outbound.memory.users import InMemoryUserRepository
from adapters.outbound.session_cache import CachedSessionSource
from adapters.outbound.stored_sessions import StoredSessionSource
from application.ports import AnonymousSession, SessionCheck
from domain.identity import Role, Session, User, new_session

MAX_AGE = 2.0


class Clock:
    def __init__(self) -> None:
        self.t = 1_000.0

    def now(self) -> float:
        return self.t


class CountingSource(StoredSessionSource):
    """The stored source, counting what reaches it."""

    def __init__(self, sessions: InMemorySessionRepository, users: InMemoryUserRepository) -> None:
        super().__init__(sessions, users)
        self.resolved: list[str] = []

    async def resolve_many(self, credentials: list[str]) -> dict[str, tuple[Session, User | None] | None]:
        self.resolved += credentials
        await asyncio.sleep(0)  # a real round trip yields
        return await super().resolve_many(credentials)


class World:
    def __init__(self) -> None:
        self.clock = Clock()
        self.users = InMemoryUserRepository()
        self.sessions = InMemorySessionRepository(self.users)
        self.source = CountingSource(self.sessions, self.users)
        self.cache = CachedSessionSource(self.source, self.clock, MAX_AGE)
        self.ended: list[set[str]] = []

    async def session(self, name: str = "u", role: Role = Role.VIEWER) -> Session:
        user = await self.users.get_by_username(name) or await self.users.add(name, role)
        session = new_session(f"s-{name}-{len(self.source.resolved)}-{self.clock.t}", "csrf", user, self.clock.t, 3600)
        await self.sessions.add(session)
        return session

    async def revoke(self, session_id: str) -> None:
        """What RevokeSession does: storage first, then the revocation bus calls every node's handler."""

        async def end(ids: set[str]) -> None:
            self.ended.append(ids)

        await self.sessions.revoke(session_id)
        await self.cache.on_revoked(end)({session_id})


@pytest.fixture
def world() -> World:
    return World()


async def test_a_known_session_is_answered_without_a_round_trip(world: World) -> None:
    s = await world.session()
    first = await world.cache.resolve(s.id)
    again = [await world.cache.resolve(s.id) for _ in range(5)]
    assert first is not None and first[0] == s and all(a == first for a in again)
    assert world.source.resolved == [s.id]


async def test_a_revoked_session_is_refused_at_once(world: World) -> None:
    s = await world.session()
    await world.cache.resolve(s.id)
    await world.revoke(s.id)
    answer = await world.cache.resolve(s.id)
    assert answer is not None and answer[0].revoked
    assert world.ended == [{s.id}]


async def test_the_sweep_drops_dead_sessions_and_ages_out_unconnected_ones(world: World) -> None:
    connected, idle, dead = await world.session("a"), await world.session("b"), await world.session("c")
    for s in (connected, idle, dead):
        await world.cache.resolve(s.id)
    await world.sessions.revoke(dead.id)  # behind our back: no revocation message
    world.clock.t += MAX_AGE
    await world.cache.recheck({connected.id, dead.id}, world.clock.now())
    before = len(world.source.resolved)
    assert (await world.cache.resolve(connected.id)) is not None
    assert len(world.source.resolved) == before  # confirmed by the sweep: still no round trip
    dead_answer, idle_answer = await world.cache.resolve(dead.id), await world.cache.resolve(idle.id)
    assert dead_answer is not None and dead_answer[0].revoked
    assert idle_answer is not None
    assert world.source.resolved[before:] == [dead.id, idle.id]


async def test_an_entry_older_than_the_sweep_interval_is_read_again(world: World) -> None:
    s = await world.session()
    await world.cache.resolve(s.id)
    await world.users.set_active(s.user_id, False)
    world.clock.t += MAX_AGE
    answer = await world.cache.resolve(s.id)
    assert answer is not None and answer[1] is not None and not answer[1].active


async def test_a_storm_of_misses_costs_one_batched_load(world: World) -> None:
    sessions = [await world.session(f"u{i}") for i in range(200)]
    answers = await asyncio.gather(*(world.cache.resolve(s.id) for s in sessions for _ in range(3)))
    assert [a[0].id for a in answers if a is not None] == [s.id for s in sessions for _ in range(3)]
    assert world.cache.loads == 1 and sorted(world.source.resolved) == sorted(s.id for s in sessions)


async def test_unknown_credentials_are_answered_none_and_never_kept(world: World) -> None:
    assert await world.cache.resolve("nope") is None
    assert await world.cache.resolve("nope") is None
    assert world.source.resolved == ["nope", "nope"] and len(world.cache) == 0


async def test_a_load_that_overlapped_a_revocation_is_answered_but_not_kept(world: World) -> None:
    s = await world.session()
    pending = asyncio.ensure_future(world.cache.resolve(s.id))
    while world.cache.loads == 0:  # noqa: ASYNC110 (until the load is in flight: a counter, no event)
        await asyncio.sleep(0)
    world.cache.forget({"some-other-session"})
    assert (await pending) is not None
    assert len(world.cache) == 0


async def test_one_cancelled_waiter_does_not_cancel_the_others(world: World) -> None:
    s = await world.session()
    a = asyncio.ensure_future(world.cache.resolve(s.id))
    b = asyncio.ensure_future(world.cache.resolve(s.id))
    await asyncio.sleep(0)
    a.cancel()
    answer = await b
    assert answer is not None and answer[0] == s


class AnonymousOnly:
    """A source without resolve_many (like the Flask cookie source) that refuses one credential as anonymous."""

    async def resolve(self, credential: str) -> tuple[Session, User | None] | None:
        if credential == "anon":
            raise AnonymousSession()
        return None

    def csrf_matches(self, presented: str, secret: str) -> bool:
        return presented == secret

    async def recheck(self, session_ids: set[str], now: float) -> SessionCheck:
        return SessionCheck(dead=set(), users={})


async def test_errors_of_a_source_reach_only_their_own_caller() -> None:
    cache = CachedSessionSource(AnonymousOnly(), Clock(), MAX_AGE)
    anon, other = await asyncio.gather(cache.resolve("anon"), cache.resolve("other"), return_exceptions=True)
    assert isinstance(anon, AnonymousSession) and other is None


async def test_the_view_is_bounded(world: World) -> None:
    cache = CachedSessionSource(world.source, world.clock, MAX_AGE, max_entries=3)
    for i in range(5):
        await cache.resolve((await world.session(f"b{i}")).id)
    assert len(cache) == 3
