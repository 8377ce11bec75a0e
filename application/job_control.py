"""request_caption_status, pause_caption_generation and resume_caption_generation."""

from __future__ import annotations

from application.client_events import Reply
from application.commands import (
    PauseCaptionGenerationCommand,
    RequestCaptionStatusCommand,
    ResumeCaptionGenerationCommand,
)
from application.connections import Connection
from application.ports import Clock, JobRepository, JobSignals
from domain import events, messages
from domain.access import check_user_scope
from domain.errors import DomainError, ErrorCode
from domain.identity import User
from domain.jobs import CaptionJob, JobStatus


class RequestCaptionStatus:
    def __init__(self, jobs: JobRepository) -> None:
        self._jobs = jobs

    async def __call__(self, conn: Connection, command: RequestCaptionStatusCommand) -> Reply:
        user_id = conn.user.id if command.user_id is None else command.user_id
        check_user_scope(conn.user, user_id)
        job = await self._jobs.active_for_user(user_id) or await self._jobs.latest_for_user(user_id)
        return Reply(events.CAPTION_STATUS_RESPONSE, messages.caption_status(user_id, job))


class PauseCaptionGeneration:
    """Pauses the active job durably; its runner reads the state before each post and stops there."""

    def __init__(self, jobs: JobRepository, clock: Clock) -> None:
        self._jobs = jobs
        self._clock = clock

    async def __call__(self, conn: Connection, command: PauseCaptionGenerationCommand) -> Reply:
        user_id = conn.user.id if command.user_id is None else command.user_id
        return await self.pause(conn.user, user_id, command.reason)

    async def pause(self, actor: User, user_id: int, reason: str | None) -> Reply:
        check_user_scope(actor, user_id)
        job = await _active_job(self._jobs, user_id)
        job.pause(reason or "user_requested", self._clock.now())
        if not await self._jobs.transition(job, (JobStatus.RUNNING, JobStatus.QUEUED)):
            raise _moved_on()
        return Reply(events.CAPTION_STATUS_RESPONSE, messages.job_paused(job))


class ResumeCaptionGeneration:
    def __init__(self, jobs: JobRepository, signals: JobSignals, clock: Clock) -> None:
        self._jobs = jobs
        self._signals = signals
        self._clock = clock

    async def __call__(self, conn: Connection, command: ResumeCaptionGenerationCommand) -> Reply:
        return await self.resume(conn.user, conn.user.id if command.user_id is None else command.user_id)

    async def resume(self, actor: User, user_id: int) -> Reply:
        check_user_scope(actor, user_id)
        job = await _active_job(self._jobs, user_id)
        job.resume(self._clock.now())
        if not await self._jobs.transition(job, (JobStatus.PAUSED,)):
            raise _moved_on()
        await self._signals.wake(job.id)
        return Reply(events.CAPTION_STATUS_RESPONSE, messages.caption_status(user_id, job))


async def _active_job(jobs: JobRepository, user_id: int) -> CaptionJob:
    job = await jobs.active_for_user(user_id)
    if job is None:
        raise DomainError(ErrorCode.NO_ACTIVE_JOB, "There is no active caption job", user_id=user_id)
    return job


def _moved_on() -> DomainError:
    return DomainError(ErrorCode.INVALID_JOB_STATE, "The job changed state meanwhile; ask for its status")
