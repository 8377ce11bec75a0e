"""One node is the whole fleet: its own counts, and revocations that only need to reach itself."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from application.ports import FleetTotals


class LocalFleetView:
    def __init__(self) -> None:
        self._totals = FleetTotals(0, 0, 0)

    async def report(self, node_id: str, active_connections: int, total_connections: int) -> None:
        self._totals = FleetTotals(active_connections, total_connections, 1)

    async def totals(self) -> FleetTotals:
        return self._totals


class LocalRevocations:
    def __init__(self, on_revoked: Callable[[set[str]], Awaitable[object]]) -> None:
        self._on_revoked = on_revoked

    async def publish(self, session_ids: set[str]) -> None:
        if session_ids:  # as on Redis: an empty batch reaches nobody
            await self._on_revoked(session_ids)


class LeaveToWorkers:
    """The job scheduler of a serving node when workers run the jobs: they find new jobs themselves."""

    def schedule(self, job_id: str) -> None:
        return None
