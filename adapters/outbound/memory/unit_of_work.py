"""The UnitOfWork port in memory: the participating repositories are put back as they were if the block raises."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol


class Restorable(Protocol):
    def snapshot(self) -> Any: ...

    def restore(self, state: Any) -> None: ...


class InMemoryUnitOfWork:
    """All-or-nothing over the repositories given. Other tasks see the block's writes before it ends (no
    isolation), as they would see a SQL transaction's only after; the use cases read nothing back meanwhile."""

    def __init__(self, *participants: Restorable) -> None:
        self._participants = participants
        self._depth = 0

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        if self._depth:  # a block inside another joins it
            yield
            return
        states = [p.snapshot() for p in self._participants]
        self._depth += 1
        try:
            yield
        except BaseException:
            for participant, state in zip(self._participants, states, strict=True):
                participant.restore(state)
            raise
        finally:
            self._depth -= 1
