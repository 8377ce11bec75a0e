"""Recoverable connection states in this process: live ones kept, parked ones expire after the window."""

from __future__ import annotations

from collections import OrderedDict

from application.ports import Clock, RecoveryState


class InMemoryRecoveryStates:
    """Bounded by the connections of this node: one live state each, parked ones for one window."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._live: dict[str, RecoveryState] = {}
        self._parked: OrderedDict[str, tuple[RecoveryState, float]] = OrderedDict()  # in parking order

    async def save(self, state: RecoveryState) -> None:
        self._parked.pop(state.pid, None)
        self._live[state.pid] = state

    async def park(self, state: RecoveryState, window: float) -> None:
        self._expire()
        if self._live.get(state.pid) is not state:
            return  # taken (and perhaps saved again) by a reconnect meanwhile
        del self._live[state.pid]
        self._parked[state.pid] = (state, self._clock.now() + window)

    async def take(self, pid: str) -> RecoveryState | None:
        self._expire()
        parked = self._parked.pop(pid, None)
        if parked is not None:
            return parked[0]
        return self._live.pop(pid, None)

    async def drop(self, state: RecoveryState) -> None:
        if self._live.get(state.pid) is state:
            del self._live[state.pid]

    async def refresh(self, states: list[RecoveryState]) -> None:
        return None

    def _expire(self) -> None:
        now = self._clock.now()
        while self._parked:
            pid, (_, until) = next(iter(self._parked.items()))
            if until > now:
                break
            del self._parked[pid]
