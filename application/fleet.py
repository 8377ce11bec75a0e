"""Keeping this node's share of fleet-wide state alive: connection leases and running-job claims."""

from __future__ import annotations

import logging

from application.connections import ConnectionRegistry
from application.limits import connection_slot_key
from application.ports import ConnectionSlotStore, JobLeases, JobRepository, JobRunner
from domain.jobs import ACTIVE_STATUSES

log = logging.getLogger("vedfolnir.fleet")


class RenewConnectionLeases:
    def __init__(self, registry: ConnectionRegistry, slots: ConnectionSlotStore) -> None:
        self._registry = registry
        self._slots = slots

    async def __call__(self) -> None:
        held = {connection_slot_key(user_id): ids for user_id, ids in self._registry.physical_by_user().items()}
        if held:
            await self._slots.refresh(held)


class ClaimJobs:
    """A worker's round: renew the claims on the jobs it runs, claim active jobs nobody holds, run them.

    A job is run by exactly one worker: the claim is a lease, so a worker that dies (SIGKILL included)
    loses its jobs to another once the lease runs out, and they continue from the first post not done.
    """

    def __init__(self, jobs: JobRepository, leases: JobLeases, scheduler: JobRunner, owner: str) -> None:
        self._jobs = jobs
        self._leases = leases
        self._scheduler = scheduler
        self._owner = owner
        self.running: set[str] = set()
        self.taking = True  # False once the node hands its jobs back: a claim still on its way is let go

    async def __call__(self) -> int:
        if self.running:
            kept = await self._leases.renew(self.running, self._owner)
            for lost in self.running - kept:
                if await self._leases.claim(lost, self._owner):  # it ran out (Redis was away) and nobody took it
                    log.warning("the claim on job %s had run out; claimed again, it goes on here", lost)
                    continue
                # Another runner holds it now: stop it here, so it never runs twice (the post cut short is redone)
                log.warning("lost the claim on job %s to another runner; stopped here", lost)
                self.running.discard(lost)
                self._scheduler.stop(lost)
        claimed = 0
        for job in await self._jobs.with_status(ACTIVE_STATUSES):
            if job.id in self.running:
                continue
            if await self._leases.claim(job.id, self._owner):
                self.running.add(job.id)
                self._scheduler.schedule(job.id)
                claimed += 1
        return claimed

    async def take(self, job_id: str) -> bool:
        """Claims one job (a new one started on this node) and runs it here; False if another runner holds it."""
        if not self.taking or job_id in self.running or not await self._leases.claim(job_id, self._owner):
            return False
        if not self.taking:  # the node began handing jobs back while the claim was out
            await self._leases.release(job_id, self._owner)
            return False
        self.running.add(job_id)
        self._scheduler.schedule(job_id)
        return True

    async def finished(self, job_id: str) -> None:
        self.running.discard(job_id)
        await self._leases.release(job_id, self._owner)
