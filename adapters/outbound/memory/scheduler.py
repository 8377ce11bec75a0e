"""Runs caption jobs as tasks of this process (the embedded default; workers come with Redis)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from adapters.observability import log_context
from adapters.stopping import stop_tasks

log = logging.getLogger("vedfolnir.jobs")


class InProcessJobScheduler:
    def __init__(self, run: Callable[[str], Awaitable[None]]) -> None:
        self._run = run
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._after: Callable[[str], Awaitable[None]] | None = None

    def on_finished(self, after: Callable[[str], Awaitable[None]]) -> None:
        """Called with the job id once its run ends, however it ends (a worker releases its claim)."""
        self._after = after

    def schedule(self, job_id: str) -> None:
        if job_id in self._tasks:
            return
        task = asyncio.get_running_loop().create_task(self._guarded(job_id), name=f"caption-job-{job_id}")
        self._tasks[job_id] = task
        task.add_done_callback(lambda _t: self._tasks.pop(job_id, None))

    async def _guarded(self, job_id: str) -> None:
        log_context.work.set({"job_id": job_id})  # the job's own task: its log records name the job
        try:
            await self._run(job_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            # the runner ends a failing job itself; this is a failure it could not even record (database down)
            log.exception("caption job %s stopped on an error; its next start or claim is another attempt", job_id)
        finally:
            if self._after is not None:
                try:
                    await self._after(job_id)
                except Exception:
                    log.exception("after-run hook of job %s failed", job_id)

    def stop(self, job_id: str) -> None:
        """Cancels the job's run here (its after-run hook still runs); nothing if it does not run here."""
        task = self._tasks.get(job_id)
        if task is not None:
            task.cancel()

    @property
    def running(self) -> int:
        return len(self._tasks)

    async def join(self, job_id: str) -> None:
        task = self._tasks.get(job_id)
        if task is not None:
            await asyncio.shield(task)

    async def close(self) -> None:
        await stop_tasks(list(self._tasks.values()), "caption jobs")
