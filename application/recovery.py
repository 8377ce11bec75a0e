"""Connection-state recovery: a private id per connection, its state parked when the transport drops, given back once."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterable
from typing import Any

from application.connect import DisconnectClient
from application.connections import Connection, ConnectionRegistry
from application.ports import RecoveryState, RecoveryStates, TokenSource

log = logging.getLogger("vedfolnir.recovery")

# Disconnect reasons after which the client reconnects by itself; any other (the client left, the
# server ended the socket, its session died) forgets the state: a later reconnect is fresh.
RECOVERABLE_REASONS = frozenset({"transport close", "transport error", "ping timeout"})
MAX_OFFSET_DIGITS = 19


class ConnectionRecovery:
    """Issues, parks and gives back recoverable states; each live connection holds its own (`Connection.recovery`)."""

    def __init__(
        self,
        states: RecoveryStates,
        registry: ConnectionRegistry,
        tokens: TokenSource,
        window: float,
        max_replay: int,
        recoverable_reasons: Iterable[str] = RECOVERABLE_REASONS,
    ) -> None:
        self._states = states
        self._registry = registry
        self._tokens = tokens
        self.window = window
        self.max_replay = max_replay
        self._recoverable = frozenset(recoverable_reasons)

    async def claim(self, pid: Any, namespace: str, epoch: str) -> RecoveryState | None:
        """The parked (or still live) state a reconnect names, taken so no other reconnect can use it."""
        if not isinstance(pid, str) or not 16 <= len(pid) <= 128:
            return None
        state = await self._states.take(pid)
        # Still held by a connection of this node (its drop not noticed yet): taken from it, so its
        # late disconnect parks nothing.
        conn = self._registry.get(pid.partition(".")[0])
        held = conn.recovery if conn is not None else None
        if held is not None and hmac.compare_digest(held.pid.encode(), pid.encode()):
            conn.recovery = None  # type: ignore[union-attr]
            state = state or held
        if state is None or state.namespace != namespace or state.epoch != epoch:
            return None
        return state

    @staticmethod
    def replay_from(state: RecoveryState, offset: Any, newest: int) -> int | None:
        """The log position after which the client missed events; None when its offset is none we sent.

        No offset means the client saw no event since the state began: replay from its start.
        """
        if offset is None:
            return state.start
        if not isinstance(offset, str) or not offset.isdigit() or len(offset) > MAX_OFFSET_DIGITS:
            return None
        seen = int(offset)
        if seen > newest:
            return None
        return max(seen, state.start)

    @staticmethod
    def rooms(state: RecoveryState, automatic: Iterable[str]) -> dict[str, int]:
        """Every room of the state with the position it was joined at (its automatic rooms at its start)."""
        return {**dict.fromkeys(automatic, state.start), **dict(state.joined)}

    @staticmethod
    def accepts(state: RecoveryState, conn: Connection) -> bool:
        """A state goes back only to a connection of the session it was issued to."""
        same_session = hmac.compare_digest(state.session_id.encode(), conn.session_id.encode())
        return same_session and state.user_id == conn.user.id

    def begin(self, conn: Connection, start: int, epoch: str, recovered: RecoveryState | None = None) -> RecoveryState:
        """The state of a connection just accepted: fresh, or `recovered` (same pid, same joined rooms)."""
        joined: tuple[tuple[str, int], ...] = ()
        if recovered is not None:
            joined = recovered.joined
            conn.rooms = frozenset(room for room, _ in joined)
        state = RecoveryState(
            # The socket id (to find a live holder without an index) and 128 secret bits
            pid=recovered.pid if recovered is not None else f"{conn.sid}.{self._tokens.secret()[:32]}",
            sid=conn.sid,
            namespace=conn.namespace,
            session_id=conn.session_id,
            user_id=conn.user.id,
            joined=joined,
            start=start,
            epoch=epoch,
            holder=conn.physical_id,
        )
        conn.recovery = state
        return state

    async def remember(self, state: RecoveryState) -> None:
        await self._states.save(state)

    def joined(self, sid: str, room: str, position: int) -> RecoveryState | None:
        conn = self._registry.get(sid)
        state = conn.recovery if conn is not None else None
        if state is None or any(r == room for r, _ in state.joined):
            return None
        state.joined = (*state.joined, (room, position))
        return state

    def left(self, sid: str, room: str) -> RecoveryState | None:
        conn = self._registry.get(sid)
        state = conn.recovery if conn is not None else None
        if state is None or not any(r == room for r, _ in state.joined):
            return None
        state.joined = tuple(pair for pair in state.joined if pair[0] != room)
        return state

    async def ended(self, conn: Connection, reason: str) -> None:
        state, conn.recovery = conn.recovery, None
        if state is None:
            return
        if reason in self._recoverable and not conn.revoked:
            await self._states.park(state, self.window)
        else:
            await self._states.drop(state)

    def live(self) -> list[RecoveryState]:
        return [conn.recovery for conn in self._registry if conn.recovery is not None]


class RecoveringDisconnect:
    """The disconnect use case that first parks (or forgets) the connection's recoverable state."""

    def __init__(self, recovery: ConnectionRecovery, registry: ConnectionRegistry, inner: DisconnectClient) -> None:
        self._recovery = recovery
        self._registry = registry
        self._inner = inner

    async def __call__(self, sid: str, reason: str) -> None:
        conn = self._registry.get(sid)
        try:
            if conn is not None:
                await self._recovery.ended(conn, reason)
        except Exception as exc:  # the store is unreachable: the state expires by itself
            log.warning("could not park a recoverable state (%s)", type(exc).__name__)
        await self._inner(sid, reason)


class KeepRecoveryStates:
    """The periodic task that keeps this node's live states from expiring in a fleet-wide store."""

    def __init__(self, recovery: ConnectionRecovery, states: RecoveryStates) -> None:
        self._recovery = recovery
        self._states = states

    async def __call__(self) -> None:
        live = self._recovery.live()
        if live:
            await self._states.refresh(live)
