"""The runner on the in-memory twins: a raising job ends failed and says so, dying runs are bounded, platform statuses."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from adapters.outbound.crypto import TokenCipher
from adapters.outbound.demo.posts import DemoPostSource
from adapters.outbound.memory.credentials import InMemoryPlatformCredentials
from adapters.outbound.memory.platforms import InMemoryPlatformRepository
from adapters.outbound.memory.signals import LocalJobSignals
from adapters.outbound.memory.unit_of_work import InMemoryUnitOfWork
from application.platforms import ConnectPlatform, TrackPlatformReachability
from application.ports import GeneratedCaption, PlatformUnavailable
from application.run_job import RunCaptionJob
from domain.identity import Role
from domain.jobs import JobStatus, PostImage, new_job
from domain.platforms import PlatformConnection, PlatformStatus, PlatformType
from tests.unit.twins import World


@pytest.fixture
def world() -> World:
    return World()


class Generator:
    """Captions posts; raises `error` from post number `fail_at` on."""

    seconds_per_post_estimate = 1.0

    def __init__(self, fail_at: int | None = None, error: Exception | None = None) -> None:
        self.calls = 0
        self._fail_at = fail_at
        self._error = error or RuntimeError("a bug")

    async def caption(self, post: PostImage) -> GeneratedCaption:
        self.calls += 1
        if self._fail_at is not None and self.calls >= self._fail_at:
            raise self._error
        return GeneratedCaption("A caption.", 0.9, 0.5)


async def setup(world: World, generator: Generator, max_attempts: int = 3) -> tuple[RunCaptionJob, str, Any]:
    platforms = InMemoryPlatformRepository()
    user = await world.user("alice", Role.REVIEWER)
    platform = await platforms.add(user.id, "Pix", PlatformType.PIXELFED, "https://pix.example")
    runner = RunCaptionJob(
        world.jobs,
        world.users,
        platforms,
        DemoPostSource(4, 2, 0.0),
        generator,
        LocalJobSignals(),
        world.outbox,
        world.clock,
        recheck_seconds=0.05,
        max_attempts=max_attempts,
    )
    job = new_job("job-1", user.id, platform.id, world.clock.now())
    await world.jobs.add(job)
    return runner, job.id, platforms


def job_events(world: World) -> list[tuple[str, dict[str, Any]]]:
    return [(d.event, d.payload) for d in world.publisher.deliveries if d.event.startswith("caption_generation")]


async def test_any_exception_ends_the_job_failed_with_an_error_and_a_completion(world: World) -> None:
    runner, job_id, _ = await setup(world, Generator(fail_at=3))
    await runner(job_id)
    job = await world.jobs.get(job_id)
    assert job is not None and job.status is JobStatus.FAILED and job.processed == 2
    names = [name for name, _ in job_events(world)]
    assert names == ["caption_generation_started", "caption_generation_error", "caption_generation_completed"]
    _, error = job_events(world)[1]
    assert error == error | {"error_type": "CAPTION_GENERATION_FAILED", "post_id": None, "retry_possible": True}
    assert "a bug" not in error["error_message"]
    assert job_events(world)[2][1] == job_events(world)[2][1] | {"status": "failed", "total_posts_processed": 2}


async def test_a_job_past_its_attempts_fails_without_running(world: World) -> None:
    generator = Generator()
    runner, job_id, _ = await setup(world, generator, max_attempts=2)
    for _ in range(2):  # two runs that died before storing anything
        await world.jobs.begin_attempt(job_id)
    await runner(job_id)
    assert generator.calls == 0
    job = await world.jobs.get(job_id)
    assert job is not None and job.status is JobStatus.FAILED and job.attempts == 3
    (_, error), (_, done) = job_events(world)
    assert error == error | {"error_type": "CAPTION_GENERATION_FAILED", "retry_possible": False}
    assert "2 runs in a row" in error["error_message"] and done["status"] == "failed"


async def test_storing_a_post_resets_the_count_and_a_finished_run_leaves_it_at_zero(world: World) -> None:
    runner, job_id, _ = await setup(world, Generator(), max_attempts=1)
    await runner(job_id)
    job = await world.jobs.get(job_id)
    assert job is not None and job.status is JobStatus.COMPLETED and job.attempts == 0


async def test_a_paused_job_waits_before_its_run_counts(world: World) -> None:
    runner, job_id, _ = await setup(world, Generator(), max_attempts=1)
    job = await world.jobs.get(job_id)
    assert job is not None
    job.pause("user_requested", world.clock.now())
    assert await world.jobs.transition(job, (JobStatus.QUEUED,))
    task = asyncio.get_running_loop().create_task(runner(job_id))
    try:
        for _ in range(5):  # a restart while paused: the run waits, and counts nothing
            await asyncio.sleep(0.02)
            assert (await world.jobs.get(job_id)).attempts == 0  # type: ignore[union-attr]
        assert world.publisher.events("caption_generation_paused")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_failure_that_cannot_be_recorded_leaves_the_job_for_its_next_run(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner, job_id, _ = await setup(world, Generator(fail_at=1))

    async def database_down(*_: Any) -> bool:
        raise ConnectionError("the database went away")

    monkeypatch.setattr(world.jobs, "transition", database_down)
    await runner(job_id)  # never raises
    job = await world.jobs.get(job_id)
    assert job is not None and job.is_active and job.attempts == 1
    assert not world.publisher.events("caption_generation_completed")


class Verifier:
    def __init__(self, error: PlatformUnavailable | None) -> None:
        self.error = error

    async def verify(self, platform: PlatformConnection) -> None:
        if self.error is not None:
            raise self.error


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (None, PlatformStatus.CONNECTED),
        (PlatformUnavailable("401", retry_possible=False), PlatformStatus.ERROR),
        (PlatformUnavailable("timed out", unreachable=True), PlatformStatus.DISCONNECTED),
    ],
)
async def test_adding_a_platform_stores_and_tells_what_the_instance_said(
    world: World, error: PlatformUnavailable | None, status: PlatformStatus
) -> None:
    platforms = InMemoryPlatformRepository()
    user = await world.user("alice")
    credentials = InMemoryPlatformCredentials(TokenCipher(TokenCipher.new_key()))
    uow = InMemoryUnitOfWork(platforms, credentials)
    connect = ConnectPlatform(world.users, platforms, credentials, uow, Verifier(error), world.outbox)
    added = await connect(user.id, "Pix", PlatformType.PIXELFED, "https://pix.example/", "token")
    assert added.status is status and (await platforms.get(added.id)) == added
    (told,) = world.publisher.events("platform_connection_status")
    assert told == told | {"platform_id": added.id, "user_id": user.id, "status": status.value}


async def test_reachability_flips_connected_and_disconnected_once_and_leaves_error_alone(world: World) -> None:
    platforms = InMemoryPlatformRepository()
    user = await world.user("alice")
    up = await platforms.add(user.id, "A", PlatformType.PIXELFED, "https://a.example")
    refused = await platforms.add(user.id, "B", PlatformType.PIXELFED, "https://a.example")
    other = await platforms.add(user.id, "C", PlatformType.MASTODON, "https://c.example")
    await platforms.set_status(up.id, PlatformStatus.CONNECTED, None)
    await platforms.set_status(refused.id, PlatformStatus.ERROR, None)
    await platforms.set_status(other.id, PlatformStatus.CONNECTED, None)
    track = TrackPlatformReachability(platforms, world.outbox)
    await track({"https://a.example": False, "https://c.example": True})
    await track({"https://a.example": False, "https://c.example": True})  # no change: nothing said
    await track({"https://a.example": True, "https://c.example": True})
    told = [(e["platform_id"], e["status"]) for e in world.publisher.events("platform_connection_status")]
    assert told == [(up.id, "disconnected"), (up.id, "connected")]
    assert (await platforms.get(refused.id)).status is PlatformStatus.ERROR  # type: ignore[union-attr]


async def test_a_job_stopped_while_its_result_is_stored_still_announces_that_post(world: World) -> None:
    """A drain cancels running jobs; a continued job starts after the last stored post, so a post stored here must
    also be announced here, or its caption_generated never reaches anyone (seen once in the drain test)."""
    runner, job_id, _ = await setup(world, Generator())
    storing, release = asyncio.Event(), asyncio.Event()
    store = world.jobs.add_result

    async def slow_store(job: Any, result: Any) -> bool:
        storing.set()
        await release.wait()
        return await store(job, result)

    world.jobs.add_result = slow_store  # type: ignore[method-assign]
    run = asyncio.get_running_loop().create_task(runner(job_id))
    await asyncio.wait_for(storing.wait(), 5)
    run.cancel()
    await asyncio.sleep(0)  # the cancel lands while the result is being stored
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(run, 5)
    job = await world.jobs.get(job_id)
    assert job is not None and job.processed == 1
    generated = [d.payload for d in world.publisher.deliveries if d.event == "caption_generated"]
    assert len(generated) == 1
