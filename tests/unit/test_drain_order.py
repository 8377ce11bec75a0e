"""The drain's order: readyz 503 first, then the listener closes, events in flight finish, jobs are handed back,
and only then are clients told to reconnect."""

from __future__ import annotations

import asyncio
import contextlib
from types import SimpleNamespace
from typing import Any

from adapters.inbound.drain import Drain
from domain.health import Health


class FakeSocket:
    """An Engine.IO socket as the drain sees it: told to go by its queue's None, then closed."""

    def __init__(self, steps: list[str], sockets: dict[str, Any]) -> None:
        self.closed = False
        self._sockets = sockets
        self.upgraded = True
        self.queue = self
        self._steps = steps

    def put_nowait(self, item: Any) -> None:
        assert item is None
        self._steps.append("client told to reconnect")
        self.closed = True
        self._sockets.clear()  # the engine forgets a closed socket


async def test_events_in_flight_finish_before_jobs_are_handed_back_and_clients_told() -> None:
    steps: list[str] = []
    in_flight = [1]  # one client event still being handled when SIGTERM arrives
    sockets: dict[str, Any] = {}
    sockets["s1"] = FakeSocket(steps, sockets)
    sio = SimpleNamespace(eio=SimpleNamespace(sockets=sockets))

    async def stop_jobs() -> None:
        steps.append(f"jobs handed back (events in flight: {in_flight[0]})")

    async def stop_listening() -> None:
        steps.append("listener closed")
        assert (await drain.check()).status is Health.UNHEALTHY  # readyz already answers 503

    drain = Drain(sio, lambda: in_flight[0], stop_jobs, readiness_seconds=0.01, drain_seconds=5.0)
    assert (await drain.check()).status is Health.HEALTHY
    running = asyncio.create_task(drain(stop_listening))
    # While an event is in flight the drain does not get past step 3: no job stopped, no client told.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(running), 0.2)
    assert steps == ["listener closed"]
    in_flight[0] = 0
    await asyncio.wait_for(running, 5)
    assert steps == ["listener closed", "jobs handed back (events in flight: 0)", "client told to reconnect"]
