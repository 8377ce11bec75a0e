"""Start a caption job for a user on one of their platform connections (one active job per user)."""

from __future__ import annotations

from typing import Any

from application.ports import (
    Clock,
    JobAlreadyActive,
    JobRepository,
    JobScheduler,
    PlatformRepository,
    TokenSource,
    UserRepository,
)
from domain.errors import DomainError, ErrorCode
from domain.events import START_JOB_SCHEMA
from domain.jobs import ACTIVE_STATUSES, CaptionJob, new_job
from domain.validation import validate


class StartCaptionJob:
    def __init__(
        self,
        users: UserRepository,
        platforms: PlatformRepository,
        jobs: JobRepository,
        scheduler: JobScheduler,
        clock: Clock,
        tokens: TokenSource,
    ) -> None:
        self._users = users
        self._platforms = platforms
        self._jobs = jobs
        self._scheduler = scheduler
        self._clock = clock
        self._tokens = tokens

    async def from_request(self, body: Any) -> CaptionJob:
        fields = validate(START_JOB_SCHEMA, body)
        return await self(
            fields["user_id"],
            fields.get("platform_id"),
            fields.get("max_posts"),
            fields.get("reprocess_existing", False),
        )

    async def __call__(
        self,
        user_id: int,
        platform_id: int | None = None,
        max_posts: int | None = None,
        reprocess_existing: bool = False,
    ) -> CaptionJob:
        user = await self._users.get(user_id)
        if user is None or not user.active:
            raise DomainError(ErrorCode.NOT_FOUND, "No such active user", user_id=user_id)
        if platform_id is None:
            owned = await self._platforms.for_user(user_id)
            if not owned:
                raise DomainError(ErrorCode.NOT_FOUND, "The user has no platform connection", user_id=user_id)
            platform_id = owned[0].id
        platform = await self._platforms.get(platform_id)
        if platform is None or platform.user_id != user_id:
            raise DomainError(ErrorCode.NOT_FOUND, "No such platform connection for this user", platform_id=platform_id)
        job = new_job(self._tokens.message_id(), user_id, platform_id, self._clock.now(), max_posts, reprocess_existing)
        try:
            await self._jobs.add(job)
        except JobAlreadyActive:
            raise DomainError(
                ErrorCode.JOB_ALREADY_ACTIVE, "The user already has an active caption job", user_id=user_id
            ) from None
        self._scheduler.schedule(job.id)
        return job


class RecoverJobs:
    """After a restart, schedules every job that was queued, running or paused."""

    def __init__(self, jobs: JobRepository, scheduler: JobScheduler) -> None:
        self._jobs = jobs
        self._scheduler = scheduler

    async def __call__(self) -> int:
        active = await self._jobs.with_status(ACTIVE_STATUSES)
        for job in active:
            self._scheduler.schedule(job.id)
        return len(active)
