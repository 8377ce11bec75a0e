"""Recoverable connection states in this process: parked ones for one window (live ones are held by their connections)."""

from __future__ import annotations

from collections import OrderedDict

from application.ports import Clock, RecoveryState


class InMemoryRecoveryStates:
    """Bounded by the connections of this node that dropped within one window."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._parked: OrderedDict[str, tuple[RecoveryState, float]] = OrderedDict()  # in parking order

    async def save(self, state: RecoveryState) -> None:
        return None  # a live state is held by its Connection; ConnectionRecovery finds it there

    async def park(self, state: RecoveryState, window: float) -> None:
        self._expire()
        self._parked[state.pid] = (state, self._clock.now() + window)

    async def take(self, pid: str) -> RecoveryState | None:
        self._expire()
        parked = self._parked.pop(pid, None)
        return parked[0] if parked is not None else None

    async def drop(self, state: RecoveryState) -> None:
        parked = self._parked.get(state.pid)
        if parked is not None and parked[0] is state:
            del self._parked[state.pid]

    async def refresh(self, states: list[RecoveryState]) -> None:
        return None

    def _expire(self) -> None:
        now = self._clock.now()
        while self._parked:
            pid, (_, until) = next(iter(self._parked.items()))
            if until > now:
                break
            del self._parked[pid]
