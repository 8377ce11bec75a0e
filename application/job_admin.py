"""What a host application may do with a job beyond starting it: read it with its captions, cancel it."""

from __future__ import annotations

from application.outbox import Outbox
from application.ports import Clock, JobRepository, JobSignals
from domain import events, messages
from domain.errors import DomainError, ErrorCode
from domain.jobs import ACTIVE_STATUSES, JobStatus
from domain.messages import Payload


class GetCaptionJob:
    def __init__(self, jobs: JobRepository) -> None:
        self._jobs = jobs

    async def __call__(self, job_id: str) -> Payload:
        job = await self._jobs.get(job_id)
        if job is None:
            raise DomainError(ErrorCode.NOT_FOUND, "No such caption job", job_id=job_id[:100])
        return messages.job_state(job, await self._jobs.results(job_id))


class CancelCaptionJob:
    """Cancels durably; the runner stops before its next post, and the user hears it as completion."""

    def __init__(self, jobs: JobRepository, signals: JobSignals, outbox: Outbox, clock: Clock) -> None:
        self._jobs = jobs
        self._signals = signals
        self._outbox = outbox
        self._clock = clock

    async def __call__(self, job_id: str) -> Payload:
        job = await self._jobs.get(job_id)
        if job is None:
            raise DomainError(ErrorCode.NOT_FOUND, "No such caption job", job_id=job_id[:100])
        job.finish(JobStatus.CANCELLED, self._clock.now())
        if not await self._jobs.transition(job, ACTIVE_STATUSES):
            raise DomainError(ErrorCode.INVALID_JOB_STATE, "The job has already ended")
        await self._signals.wake(job.id)
        await self._outbox.to_user(job.user_id, events.CAPTION_GENERATION_COMPLETED, messages.job_completed(job))
        return messages.job_state(job, await self._jobs.results(job_id))
