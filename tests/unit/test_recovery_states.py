"""Recoverable states: single use, parked only by their holder, gone after the window; offsets checked."""

from __future__ import annotations

import asyncio

from adapters.outbound.memory.recovery import InMemoryRecoveryStates
from application.connections import Connection, ConnectionRegistry
from application.ports import RecoveryState
from application.recovery import ConnectionRecovery
from domain.identity import Role, User


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def now(self) -> float:
        return self.t


def state(pid: str = "p" * 32, holder: str = "eio-1") -> RecoveryState:
    return RecoveryState(pid, "sid-1", "/", "session-1", 7, (("user_7_captions", 5),), 3, "e", holder)


def test_a_parked_state_is_taken_once_and_expires_after_the_window() -> None:
    async def run() -> None:
        clock = Clock()
        store = InMemoryRecoveryStates(clock)
        live = state()
        await store.save(live)
        await store.park(live, 120)
        assert await store.take(live.pid) is live
        assert await store.take(live.pid) is None  # single use
        again = state()
        await store.save(again)
        await store.park(again, 120)
        clock.t += 121
        assert await store.take(again.pid) is None

    asyncio.run(run())


class Tokens:
    def message_id(self) -> str:
        return "m"

    def secret(self) -> str:
        return "ab" * 32


def test_a_state_still_held_is_taken_from_its_connection_once_and_its_late_drop_parks_nothing() -> None:
    async def run() -> None:
        registry = ConnectionRegistry()
        store = InMemoryRecoveryStates(Clock())
        recovery = ConnectionRecovery(store, registry, Tokens(), 120, 100)
        user = User(7, "demo", Role.REVIEWER, True)
        conn = Connection("sid-1", "eio-1", "/", user, "session-1", None, 2000.0)
        registry.add(conn)
        held = recovery.begin(conn, 3, "e")
        assert held.pid.startswith("sid-1.") and recovery.live() == [held]
        assert await recovery.claim(held.pid, "/", "e") is held  # the server had not noticed the drop
        assert conn.recovery is None
        await recovery.ended(conn, "transport close")  # ... and now it does: nothing to park
        assert await recovery.claim(held.pid, "/", "e") is None
        assert await recovery.claim("sid-1." + "0" * 32, "/", "e") is None  # a guess at the secret part

    asyncio.run(run())


def test_offsets_are_positions_this_log_issued() -> None:
    s = state()
    assert ConnectionRecovery.replay_from(s, None, 50) == 3  # no event seen: from where it began
    assert ConnectionRecovery.replay_from(s, "40", 50) == 40
    assert ConnectionRecovery.replay_from(s, "1", 50) == 3  # never before its start
    for bad in ("51", "-1", "4e2", "", 40, "9" * 30):
        assert ConnectionRecovery.replay_from(s, bad, 50) is None


def test_a_states_rooms_are_its_automatic_ones_from_its_start_and_those_it_joined() -> None:
    assert ConnectionRecovery.rooms(state(), ["user_7"]) == {"user_7": 3, "user_7_captions": 5}


def test_a_renamed_connection_is_found_under_its_old_socket_id_only() -> None:
    registry = ConnectionRegistry()
    user = User(7, "demo", Role.REVIEWER, True)
    registry.add(Connection("new", "eio-2", "/", user, "session-1", None, 2000.0))
    registry.rename("new", "old")
    assert registry.get("new") is None and registry.get("old") is not None
    assert [c.sid for c in registry.for_sessions({"session-1"})] == ["old"]
    conn, last = registry.remove("old")
    assert conn is not None and last and len(registry) == 0
