"""RUN_JOBS=inline on a Redis fleet: each node runs jobs under the same leases workers use, so none is run twice
and a draining node's jobs are continued at once by another node's next claim round."""

from __future__ import annotations

import asyncio
import logging

from adapters.inbound.periodic import every
from adapters.outbound.memory.scheduler import InProcessJobScheduler
from adapters.stopping import stop_tasks
from application.fleet import ClaimJobs

log = logging.getLogger("vedfolnir.jobs")


class ClaimThenRun:
    """The job intake of an inline node with Redis: a new job is claimed first, then run here."""

    def __init__(self, claim: ClaimJobs) -> None:
        self._claim = claim
        self._pending: set[asyncio.Task[bool]] = set()

    def schedule(self, job_id: str) -> None:
        task = asyncio.get_running_loop().create_task(self._take(job_id), name=f"claim-job-{job_id}")
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _take(self, job_id: str) -> bool:
        try:
            return await self._claim.take(job_id)
        except Exception:
            # Redis unreachable: never run unclaimed (another node could run it too); a claim round takes it later
            log.warning("could not claim new job %s now; a claim round will take it once Redis answers", job_id)
            return False


class InlineClaims:
    """The node's claim round (renew its leases, take jobs nobody holds) and, on drain, the hand-back."""

    def __init__(self, claim: ClaimJobs, scheduler: InProcessJobScheduler, poll_seconds: float, node_id: str) -> None:
        self._claim = claim
        self._scheduler = scheduler
        self._poll_seconds = poll_seconds
        self._node_id = node_id
        self._task: asyncio.Task[None] | None = None
        self._failing = False
        scheduler.on_finished(claim.finished)  # a job that ends here, however, releases its lease

    def start(self) -> None:
        """Also the start-up recovery: jobs whose runner is gone (lease released or run out) are taken."""
        self._task = asyncio.get_running_loop().create_task(
            every(self._poll_seconds, self._round, "job claims", at_start=True), name="job-claims"
        )

    async def _round(self) -> None:
        """One claim round; an outage (Redis or the database away) is logged once, not every poll."""
        try:
            await self._claim()
        except Exception:
            if not self._failing:
                log.warning("job claims failed; retrying every %.1f s", self._poll_seconds, exc_info=True)
            self._failing = True
            return
        if self._failing:
            log.info("job claims work again")
        self._failing = False

    async def hand_back(self) -> None:
        """Stops claiming, stops the jobs running here and releases their leases: another node takes them
        on its next claim round (a post cut short is captioned again there)."""
        self._claim.taking = False  # a new job's claim still on its way is let go, not run here
        if self._task is not None:
            task, self._task = self._task, None
            await stop_tasks([task], "job claims loop")
        stopping = len(self._claim.running)
        await self._scheduler.close()
        for job_id in list(self._claim.running):
            await self._claim.finished(job_id)
        if stopping:
            log.info("draining: node %s handed %d running jobs back to the fleet", self._node_id, stopping)
