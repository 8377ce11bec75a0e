"""A paused job's runner parks between posts and captions nothing, however many recheck rounds pass: shown
without a time window, by stepping the runner's waits one by one (the integration tests' pause windows
are the same property over real time)."""

from __future__ import annotations

import asyncio

from adapters.outbound.demo.posts import DemoPostSource
from adapters.outbound.memory.platforms import InMemoryPlatformRepository
from application.commands import PauseCaptionGenerationCommand, ResumeCaptionGenerationCommand
from application.connections import Connection
from application.job_control import PauseCaptionGeneration, ResumeCaptionGeneration
from application.ports import GeneratedCaption
from application.run_job import RunCaptionJob
from domain.identity import Role, User
from domain.jobs import JobStatus, PostImage, new_job
from domain.platforms import PlatformType
from tests.unit.twins import World


class SteppedSignals:
    """JobSignals whose `wait` returns only when the test lets one recheck round pass (or a wake comes)."""

    def __init__(self) -> None:
        self.parked = 0  # how many times the runner has parked
        self._changed = asyncio.Condition()
        self._rounds: asyncio.Queue[str] = asyncio.Queue()

    def arm(self, job_id: str) -> None:
        pass

    async def wake(self, job_id: str) -> None:
        self._rounds.put_nowait("wake")

    def forget(self, job_id: str) -> None:
        pass

    async def wait(self, job_id: str, at_most: float) -> None:
        async with self._changed:
            self.parked += 1
            self._changed.notify_all()
        await self._rounds.get()

    async def parked_times(self, count: int) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: self.parked >= count), 5)

    async def one_round(self) -> None:
        """Lets the parked runner recheck once, and returns when it has parked again."""
        before = self.parked
        self._rounds.put_nowait("tick")
        await self.parked_times(before + 1)


class PausingGenerator:
    """Captions posts; while captioning post `pause_at`, its user pauses the job (as from another socket)."""

    seconds_per_post_estimate = 1.0

    def __init__(self, pause: PauseCaptionGeneration, user: User, pause_at: int) -> None:
        self.calls = 0
        self._pause = pause
        self._user = user
        self._pause_at = pause_at

    async def caption(self, post: PostImage) -> GeneratedCaption:
        self.calls += 1
        if self.calls == self._pause_at:
            conn = Connection("s", "e", "/", self._user, "session", None, 0)
            await self._pause(conn, PauseCaptionGenerationCommand(reason="lunch"))
        return GeneratedCaption(f"Caption {self.calls}.", 0.9, 0.5)


async def test_a_paused_runner_parks_through_any_number_of_rechecks_and_resume_continues_it() -> None:
    world = World()
    signals = SteppedSignals()
    platforms = InMemoryPlatformRepository()
    alice = await world.user("alice", Role.REVIEWER)
    platform = await platforms.add(alice.id, "Pix", PlatformType.PIXELFED, "https://pix.example")
    generator = PausingGenerator(PauseCaptionGeneration(world.jobs, world.clock), alice, pause_at=2)
    runner = RunCaptionJob(
        world.jobs,
        world.users,
        platforms,
        DemoPostSource(5, 10, 0.0),
        generator,
        signals,
        world.outbox,
        world.clock,
    )
    job = new_job("job-1", alice.id, platform.id, world.clock.now())
    await world.jobs.add(job)
    run = asyncio.get_running_loop().create_task(runner(job.id))
    try:
        await signals.parked_times(1)  # the positive barrier: the runner stopped between posts
        assert generator.calls == 2  # the post in flight at the pause finished; no further one began
        generated = len(world.publisher.events("caption_generated"))
        assert len(world.publisher.events("caption_generation_paused")) == 1
        for _ in range(20):  # twenty recheck rounds, i.e. any length of pause
            world.clock.advance(5)
            await signals.one_round()
        assert generator.calls == 2 and len(world.publisher.events("caption_generated")) == generated
        assert len(world.publisher.events("caption_generation_paused")) == 1  # announced once, not per round
        stored = await world.jobs.get(job.id)
        assert stored is not None and stored.status is JobStatus.PAUSED

        conn = Connection("s", "e", "/", alice, "session", None, 0)
        await ResumeCaptionGeneration(world.jobs, signals, world.clock)(conn, ResumeCaptionGenerationCommand())
        await asyncio.wait_for(run, 5)
    finally:
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)
    assert generator.calls == 5
    assert len(world.publisher.events("caption_generation_resumed")) == 1
    (completed,) = world.publisher.events("caption_generation_completed")
    assert completed["status"] == "completed" and completed["total_posts_processed"] == 5
