"""Wake-up signals for caption jobs running in this process."""

from __future__ import annotations

import asyncio
import contextlib


class LocalJobSignals:
    def __init__(self) -> None:
        self._woken: dict[str, asyncio.Event] = {}

    def _event(self, job_id: str) -> asyncio.Event:
        event = self._woken.get(job_id)
        if event is None:
            event = self._woken[job_id] = asyncio.Event()
        return event

    def arm(self, job_id: str) -> None:
        self._event(job_id).clear()

    async def wake(self, job_id: str) -> None:
        self.wake_here(job_id)

    def wake_here(self, job_id: str) -> None:
        event = self._woken.get(job_id)
        if event is not None:
            event.set()

    async def wait(self, job_id: str, at_most: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(at_most):  # not wait_for: it can drop a cancel on 3.11 (gh-86296)
                await self._event(job_id).wait()

    def forget(self, job_id: str) -> None:
        self._woken.pop(job_id, None)
