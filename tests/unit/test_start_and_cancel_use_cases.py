"""Starting, recovering and cancelling caption jobs on the in-memory twins: one active job per user, durably."""

from __future__ import annotations

import pytest

from adapters.outbound.memory.platforms import InMemoryPlatformRepository
from application.job_admin import CancelCaptionJob, GetCaptionJob
from application.start_job import RecoverJobs, StartCaptionJob
from domain.errors import DomainError, ErrorCode
from domain.jobs import JobStatus
from domain.platforms import PlatformType
from tests.unit.twins import World


class RecordingScheduler:
    def __init__(self) -> None:
        self.scheduled: list[str] = []

    def schedule(self, job_id: str) -> None:
        self.scheduled.append(job_id)


class Jobs:
    def __init__(self) -> None:
        self.world = World()
        self.platforms = InMemoryPlatformRepository()
        self.scheduler = RecordingScheduler()
        w = self.world
        self.start = StartCaptionJob(w.users, self.platforms, w.jobs, self.scheduler, w.clock, w.tokens)
        self.cancel = CancelCaptionJob(w.jobs, w.signals, w.outbox, w.clock)
        self.get = GetCaptionJob(w.jobs)


async def refused(call: object, *args: object) -> ErrorCode:
    with pytest.raises(DomainError) as caught:
        await call(*args)  # type: ignore[operator]
    return caught.value.code


async def test_a_job_starts_on_the_users_first_platform_and_is_scheduled_once() -> None:
    jobs = Jobs()
    alice = await jobs.world.user("alice")
    pix = await jobs.platforms.add(alice.id, "Pix", PlatformType.PIXELFED, "https://pix.example")
    await jobs.platforms.add(alice.id, "Masto", PlatformType.MASTODON, "https://masto.example")
    job = await jobs.start(alice.id, max_posts=3)
    assert (job.platform_id, job.max_posts, job.status, job.created_at) == (
        pix.id,
        3,
        JobStatus.QUEUED,
        jobs.world.clock.now(),
    )
    assert jobs.scheduler.scheduled == [job.id]
    assert await refused(jobs.start, alice.id) is ErrorCode.JOB_ALREADY_ACTIVE
    assert jobs.scheduler.scheduled == [job.id]


async def test_a_job_is_refused_without_an_active_user_or_their_own_platform() -> None:
    jobs = Jobs()
    alice = await jobs.world.user("alice")
    bob = await jobs.world.user("bob")
    sleepy = await jobs.world.user("sleepy", active=False)
    bobs = await jobs.platforms.add(bob.id, "Bob's", PlatformType.PIXELFED, "https://pix.example")
    assert await refused(jobs.start, 99) is ErrorCode.NOT_FOUND
    assert await refused(jobs.start, sleepy.id) is ErrorCode.NOT_FOUND
    assert await refused(jobs.start, alice.id) is ErrorCode.NOT_FOUND  # no platform at all
    assert await refused(jobs.start, alice.id, bobs.id) is ErrorCode.NOT_FOUND  # not hers
    assert await refused(jobs.start.from_request, {"user_id": bob.id, "max_posts": 0}) is ErrorCode.INVALID_MESSAGE
    assert jobs.scheduler.scheduled == []


async def test_cancel_ends_the_job_tells_its_user_wakes_its_runner_and_is_final() -> None:
    jobs = Jobs()
    alice = await jobs.world.user("alice")
    await jobs.platforms.add(alice.id, "Pix", PlatformType.PIXELFED, "https://pix.example")
    job = await jobs.start(alice.id)
    jobs.world.clock.advance(42)
    state = await jobs.cancel(job.id)
    assert state["status"] == "cancelled"
    assert jobs.world.signals.woken == [job.id]  # a parked or sleeping runner looks again at once
    (completed,) = jobs.world.publisher.events("caption_generation_completed")
    assert completed["job_id"] == job.id and completed["status"] == "cancelled"
    assert (await jobs.get(job.id))["status"] == "cancelled"
    assert await refused(jobs.cancel, job.id) is ErrorCode.INVALID_JOB_STATE
    assert await refused(jobs.cancel, "no-such-job") is ErrorCode.NOT_FOUND
    assert await refused(jobs.get, "no-such-job") is ErrorCode.NOT_FOUND
    again = await jobs.start(alice.id)  # the cancelled job is no longer the active one
    assert again.id != job.id


async def test_recovery_schedules_every_active_job_and_no_ended_one() -> None:
    jobs = Jobs()
    ids = []
    for name in ("a", "b", "c"):
        user = await jobs.world.user(name)
        await jobs.platforms.add(user.id, "Pix", PlatformType.PIXELFED, "https://pix.example")
        ids.append((await jobs.start(user.id)).id)
    await jobs.cancel(ids[1])
    jobs.scheduler.scheduled.clear()
    assert await RecoverJobs(jobs.world.jobs, jobs.scheduler)() == 2
    assert sorted(jobs.scheduler.scheduled) == sorted([ids[0], ids[2]])
