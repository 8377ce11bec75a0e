"""Runs publishing in this process: one loop drains the queue when kicked, and every few seconds regardless."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from adapters.stopping import raise_if_cancelled, stop_tasks

log = logging.getLogger("vedfolnir.publish")


class InProcessPublishLoop:
    """A PublishTrigger; the poll picks up approvals made where no kick reaches (another process)."""

    def __init__(self) -> None:
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def kick(self) -> None:
        self._wake.set()

    def start(self, drain: Callable[[bool], Awaitable[int]], poll_seconds: float, take_over_claims: bool) -> None:
        if self._task is None:
            loop = asyncio.get_running_loop()
            self._task = loop.create_task(self._run(drain, poll_seconds, take_over_claims), name="publish-loop")

    async def _run(self, drain: Callable[[bool], Awaitable[int]], poll_seconds: float, take_over: bool) -> None:
        while True:
            raise_if_cancelled()
            self._wake.clear()  # a kick from here on runs one more round
            try:
                await drain(take_over)
                take_over = False
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("publishing failed; retrying in %.1f s", poll_seconds)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(poll_seconds):  # not wait_for: it can drop a cancel on 3.11
                    await self._wake.wait()

    async def close(self) -> None:
        if self._task is not None:
            task, self._task = self._task, None
            await stop_tasks([task], "publish loop")
