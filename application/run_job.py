"""Runs one caption job: sync the platform's posts, caption each, tell the user and the admins as it goes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

from application.outbox import Outbox
from application.ports import (
    CaptionFailure,
    CaptionGenerator,
    Clock,
    JobRepository,
    JobSignals,
    PlatformRepository,
    PlatformUnavailable,
    PostSource,
    UserRepository,
)
from application.review_ports import CaptionIntake
from domain import events, messages
from domain.errors import ErrorCode
from domain.identity import User
from domain.jobs import CaptionJob, CaptionResult, JobStatus, PostImage
from domain.platforms import PlatformConnection, PlatformStatus

log = logging.getLogger("vedfolnir.jobs")
T = TypeVar("T")


async def _to_its_end(step: Coroutine[Any, Any, T]) -> T:
    """Runs `step` to its end even when the caller is cancelled meanwhile (a drain stopping the job); the
    cancellation is then raised as usual. Bounded: a drain waits for stopped jobs a few seconds at most."""
    task = asyncio.ensure_future(step)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        if not task.done():
            await asyncio.wait([task])
        raise


class RunCaptionJob:
    def __init__(
        self,
        jobs: JobRepository,
        users: UserRepository,
        platforms: PlatformRepository,
        source: PostSource,
        generator: CaptionGenerator,
        signals: JobSignals,
        outbox: Outbox,
        clock: Clock,
        recheck_seconds: float = 5.0,
        intake: CaptionIntake | None = None,
        max_attempts: int = 3,
    ) -> None:
        self._intake = intake  # every caption goes to the review queue
        self._recheck_seconds = recheck_seconds
        self._max_attempts = max_attempts
        self._jobs = jobs
        self._users = users
        self._platforms = platforms
        self._source = source
        self._generator = generator
        self._signals = signals
        self._outbox = outbox
        self._clock = clock

    async def __call__(self, job_id: str) -> None:
        """Runs the job to its end; whatever goes wrong ends it as failed, said to the user, never silently."""
        try:
            await self._run(job_id)
        except Exception:
            log.exception("caption job %s failed unexpectedly", job_id)
            await self._fail_unexpectedly(job_id)

    async def _run(self, job_id: str) -> None:
        job = await self._runnable(job_id)  # a paused job waits first: restarts while paused cost no attempt
        if job is None:
            return
        attempts = await self._jobs.begin_attempt(job_id)
        if attempts is None:
            return
        if attempts > self._max_attempts:
            runs = attempts - 1
            message = f"Stopped: {runs} run{'s' if runs != 1 else ''} in a row ended before storing a post"
            await self._fail(job, None, ErrorCode.CAPTION_GENERATION_FAILED.value, message, False)
            return
        user = await self._users.get(job.user_id)
        platform = await self._platforms.get(job.platform_id)
        if user is None or platform is None:
            await self._fail(job, None, "PLATFORM_CONNECTION_ERROR", "The job's user or platform is gone", False)
            return
        try:
            posts = await self._sync(platform, job.max_posts, job.reprocess_existing)
        except PlatformUnavailable as exc:
            await self._set_platform(platform, PlatformStatus.DISCONNECTED if exc.unreachable else PlatformStatus.ERROR)
            await self._fail(job, None, "PLATFORM_CONNECTION_ERROR", exc.message, exc.retry_possible)
            return
        while True:  # read-modify-write guarded by the status read, so a pause during the sync survives
            stored = await self._jobs.get(job_id)
            if stored is None or not stored.is_active:
                return
            job, before = stored, stored.status
            first_start = job.started_at is None
            job.start(len(posts), self._clock.now())
            if await self._jobs.transition(job, (before,)):
                break
        await self._jobs.save_progress(job)
        if first_start:
            eta = job.estimated_time_remaining(self._clock.now(), self._generator.seconds_per_post_estimate)
            await self._outbox.to_user(job.user_id, events.CAPTION_GENERATION_STARTED, messages.job_started(job, eta))
            await self._activity(user, "caption_generation_started", job, platform)
        outcomes = {result.post_id: result for result in await self._jobs.results(job.id)}
        done = set(outcomes)
        await self._queue_stored(platform, job, posts, outcomes)
        for number, post in enumerate(posts, start=1):
            if post.post_id in done:
                continue
            current = await self._runnable(job.id)
            if current is None or not await self._caption_one(current, number, post, platform):
                return
        await self._complete(job.id, user, platform)

    async def _complete(self, job_id: str, user: User, platform: PlatformConnection) -> None:
        while True:
            job = await self._runnable(job_id)
            if job is None:
                return
            job.finish(JobStatus.COMPLETED, self._clock.now())
            if await self._jobs.transition(job, (JobStatus.RUNNING,)):
                break  # else it was paused meanwhile: wait for it again
        self._signals.forget(job_id)
        await self._outbox.to_user(job.user_id, events.CAPTION_GENERATION_COMPLETED, messages.job_completed(job))
        await self._activity(user, "caption_generation_completed", job, platform)

    async def _sync(self, platform: PlatformConnection, limit: int | None, include_described: bool) -> list[PostImage]:
        await self._set_platform(platform, PlatformStatus.SYNCING)
        posts: list[PostImage] = []
        async for page in self._source.pages(platform, limit, include_described):
            posts.extend(page.posts)
            total = max(page.items_total or 0, page.items_seen)  # a stale count never makes it exceed 100 %
            await self._outbox.to_user(
                platform.user_id,
                events.PLATFORM_SYNC_PROGRESS,
                messages.sync_progress(platform, "posts", page.items_seen, total),
            )
        await self._set_platform(platform, PlatformStatus.CONNECTED, last_sync=self._clock.now())
        return posts

    async def _queue_stored(
        self, platform: PlatformConnection, job: CaptionJob, posts: list[PostImage], stored: dict[str, CaptionResult]
    ) -> None:
        """A continued job queues its stored captions again (idempotent): a crash between store and queue loses none."""
        if self._intake is None or not stored:
            return
        for post in posts:
            result = stored.get(post.post_id)
            if result is not None and result.succeeded:
                await self._intake(platform, job, post, result)

    async def _caption_one(
        self, job: CaptionJob, number: int, post: PostImage, platform: PlatformConnection | None = None
    ) -> bool:
        """Captions one post; False when the job ended (cancelled) while it was being captioned."""
        job.current_post_id, job.current_post_url = post.post_id, post.post_url
        eta = job.estimated_time_remaining(self._clock.now(), self._generator.seconds_per_post_estimate)
        await self._outbox.to_user(
            job.user_id, events.CAPTION_PROGRESS, messages.job_progress(job, number, "processing", eta)
        )
        try:
            caption = await self._generator.caption(post)
            result = CaptionResult(
                job.id,
                post.post_id,
                post.post_url,
                post.image_url,
                caption.text,
                caption.confidence_score,
                caption.processing_time,
            )
            failure = None
        except CaptionFailure as exc:
            failure = exc
            result = CaptionResult(
                job.id,
                post.post_id,
                post.post_url,
                post.image_url,
                None,
                None,
                0.0,
                exc.error_type,
                exc.message,
            )
        return await _to_its_end(self._record_and_announce(job, number, post, platform, result, failure))

    async def _record_and_announce(
        self,
        job: CaptionJob,
        number: int,
        post: PostImage,
        platform: PlatformConnection | None,
        result: CaptionResult,
        failure: CaptionFailure | None,
    ) -> bool:
        """Stores one post's result and says so; a continued job starts after the last stored post, so a stop
        between the two would lose the post's events for good."""
        job.record(result)
        job.checkpoint(self._clock.now())
        if not await self._jobs.add_result(job, result):
            return False
        if failure is None and self._intake is not None and platform is not None:
            await self._intake(platform, job, post, result)
        if failure is None:
            await self._outbox.to_user(job.user_id, events.CAPTION_GENERATED, messages.caption_generated(job, result))
        else:
            await self._outbox.to_user(
                job.user_id,
                events.CAPTION_GENERATION_ERROR,
                messages.job_error(job, post.post_id, failure.error_type, failure.message, failure.retry_possible),
            )
        eta = job.estimated_time_remaining(self._clock.now(), self._generator.seconds_per_post_estimate)
        status = "captioned" if failure is None else "failed"
        await self._outbox.to_user(
            job.user_id, events.CAPTION_PROGRESS, messages.job_progress(job, number, status, eta)
        )
        return True

    async def _runnable(self, job_id: str) -> CaptionJob | None:
        """The stored job once it may run its next post, or None if it ended meanwhile."""
        announced = False
        while True:
            self._signals.arm(job_id)  # a wake from here on ends the wait below at once
            job = await self._jobs.get(job_id)
            if job is None or not job.is_active:
                return None
            if job.status is not JobStatus.PAUSED:
                if announced:
                    await self._outbox.to_user(
                        job.user_id, events.CAPTION_GENERATION_RESUMED, messages.caption_status(job.user_id, job)
                    )
                return job
            if not announced:
                await self._outbox.to_user(job.user_id, events.CAPTION_GENERATION_PAUSED, messages.job_paused(job))
                announced = True
            await self._signals.wait(job_id, self._recheck_seconds)

    async def _fail_unexpectedly(self, job_id: str) -> None:
        """Ends a job whose run raised; if even that fails, the job stays active and its next run is an attempt."""
        try:
            job = await self._jobs.get(job_id)
            if job is None or not job.is_active:
                return  # it ended (completed, cancelled) before the error: that outcome stands
            message = "Caption generation stopped on an unexpected error; the server log has the details"
            await self._fail(job, None, ErrorCode.CAPTION_GENERATION_FAILED.value, message, True)
        except Exception:
            log.exception("could not record the failure of caption job %s", job_id)

    async def _fail(
        self, job: CaptionJob, post_id: str | None, error_type: str, message: str, retry_possible: bool
    ) -> None:
        job.finish(JobStatus.FAILED, self._clock.now())
        if not await self._jobs.transition(job, (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.PAUSED)):
            return  # it ended otherwise meanwhile (a cancel): that end was already announced
        self._signals.forget(job.id)
        await self._outbox.to_user(
            job.user_id,
            events.CAPTION_GENERATION_ERROR,
            messages.job_error(job, post_id, error_type, message, retry_possible),
        )
        await self._outbox.to_user(job.user_id, events.CAPTION_GENERATION_COMPLETED, messages.job_completed(job))

    async def _set_platform(
        self, platform: PlatformConnection, status: PlatformStatus, last_sync: float | None = None
    ) -> None:
        updated = await self._platforms.set_status(platform.id, status, last_sync)
        await self._outbox.to_user(
            platform.user_id, events.PLATFORM_CONNECTION_STATUS, messages.platform_status(updated)
        )

    async def _activity(self, user: User, activity: str, job: CaptionJob, platform: PlatformConnection) -> None:
        details = {"job_id": job.id, "posts_count": job.total_posts, "platform": platform.platform_type.value}
        if activity == "caption_generation_completed":
            details.update(successful_captions=job.successful, failed_captions=job.failed)
        await self._outbox.to_admins(events.USER_ACTIVITY_UPDATE, messages.user_activity(user, activity, details))
