"""request_caption_status, pause and resume on the in-memory job repository and a fake clock."""

from __future__ import annotations

import pytest

from application.commands import (
    PauseCaptionGenerationCommand,
    RequestCaptionStatusCommand,
    ResumeCaptionGenerationCommand,
)
from application.connections import Connection
from application.job_control import PauseCaptionGeneration, RequestCaptionStatus, ResumeCaptionGeneration
from domain.errors import DomainError, ErrorCode
from domain.identity import Role, User
from domain.jobs import JobStatus, new_job
from tests.unit.twins import World


def connection(user: User) -> Connection:
    return Connection(
        sid="s1", physical_id="e1", namespace="/", user=user, session_id="x", csrf_token=None, expires_at=0
    )


async def running_job(world: World, user: User, posts: int = 10) -> str:
    job = new_job(f"job-{user.id}", user.id, 1, world.clock.now())
    await world.jobs.add(job)
    world.clock.advance(1)
    job.start(posts, world.clock.now())
    assert await world.jobs.transition(job, (JobStatus.QUEUED,))
    return job.id


def code(caught: pytest.ExceptionInfo[DomainError]) -> ErrorCode:
    return caught.value.code


@pytest.fixture
def control(world: World) -> tuple[RequestCaptionStatus, PauseCaptionGeneration, ResumeCaptionGeneration]:
    return (
        RequestCaptionStatus(world.jobs),
        PauseCaptionGeneration(world.jobs, world.clock),
        ResumeCaptionGeneration(world.jobs, world.signals, world.clock),
    )


@pytest.fixture
def world() -> World:
    return World()


async def test_status_without_a_job_is_idle_with_zero_progress(world: World, control) -> None:  # type: ignore[no-untyped-def]
    status, _, _ = control
    demo = await world.user("demo")
    reply = await status(connection(demo), RequestCaptionStatusCommand())
    assert reply.payload == reply.payload | {"user_id": demo.id, "is_active": False, "job_id": None, "status": None}
    assert reply.payload["current_progress"] == {"current_post": 0, "total_posts": 0, "progress_percentage": 0}


async def test_pause_is_stored_and_resume_wakes_the_runner(world: World, control) -> None:  # type: ignore[no-untyped-def]
    status, pause, resume = control
    demo = await world.user("demo")
    job_id = await running_job(world, demo)
    paused = await pause(connection(demo), PauseCaptionGenerationCommand(reason="lunch"))
    assert paused.payload["status"] == "paused" and paused.payload["reason"] == "lunch"
    stored = await world.jobs.get(job_id)
    assert stored is not None and stored.status is JobStatus.PAUSED and stored.pause_reason == "lunch"
    assert (await status(connection(demo), RequestCaptionStatusCommand())).payload["status"] == "paused"
    assert world.signals.woken == []  # a pause needs no wake-up: the runner reads the state before each post

    world.clock.advance(30)
    resumed = await resume(connection(demo), ResumeCaptionGenerationCommand())
    assert resumed.payload["status"] == "running" and world.signals.woken == [job_id]
    stored = await world.jobs.get(job_id)
    assert stored is not None and stored.status is JobStatus.RUNNING and stored.resumed_at == world.clock.now()


async def test_without_an_active_job_pause_and_resume_say_so(world: World, control) -> None:  # type: ignore[no-untyped-def]
    _, pause, resume = control
    demo = await world.user("demo")
    for use_case, command in ((pause, PauseCaptionGenerationCommand()), (resume, ResumeCaptionGenerationCommand())):
        with pytest.raises(DomainError) as caught:
            await use_case(connection(demo), command)
        assert code(caught) is ErrorCode.NO_ACTIVE_JOB


async def test_pausing_twice_or_resuming_a_running_job_is_an_invalid_state(world: World, control) -> None:  # type: ignore[no-untyped-def]
    _, pause, resume = control
    demo = await world.user("demo")
    await running_job(world, demo)
    with pytest.raises(DomainError) as caught:
        await resume(connection(demo), ResumeCaptionGenerationCommand())
    assert code(caught) is ErrorCode.INVALID_JOB_STATE
    await pause(connection(demo), PauseCaptionGenerationCommand())
    with pytest.raises(DomainError) as caught:
        await pause(connection(demo), PauseCaptionGenerationCommand())
    assert code(caught) is ErrorCode.INVALID_JOB_STATE
    assert world.signals.woken == []


async def test_only_an_admin_acts_on_another_users_job(world: World, control) -> None:  # type: ignore[no-untyped-def]
    status, pause, _ = control
    demo = await world.user("demo")
    other = await world.user("other")
    boss = await world.user("boss", Role.ADMIN)
    job_id = await running_job(world, demo)
    asks = ((status, RequestCaptionStatusCommand(demo.id)), (pause, PauseCaptionGenerationCommand(demo.id)))
    for use_case, command in asks:
        with pytest.raises(DomainError) as caught:
            await use_case(connection(other), command)
        assert code(caught) is ErrorCode.AUTH_INSUFFICIENT_PRIVILEGES
    stored = await world.jobs.get(job_id)
    assert stored is not None and stored.status is JobStatus.RUNNING
    reply = await pause(connection(boss), PauseCaptionGenerationCommand(user_id=demo.id))
    assert reply.payload["job_id"] == job_id and reply.payload["status"] == "paused"


async def test_a_paused_job_keeps_its_running_time_while_the_clock_moves(world: World, control) -> None:  # type: ignore[no-untyped-def]
    _, pause, resume = control
    demo = await world.user("demo")
    job_id = await running_job(world, demo)
    world.clock.advance(10)
    await pause(connection(demo), PauseCaptionGenerationCommand())
    stored = await world.jobs.get(job_id)
    assert stored is not None
    ran = stored.elapsed_running(world.clock.now())
    world.clock.advance(1000)
    assert stored.elapsed_running(world.clock.now()) == ran == 10
    await resume(connection(demo), ResumeCaptionGenerationCommand())
    world.clock.advance(5)
    stored = await world.jobs.get(job_id)
    assert stored is not None and stored.elapsed_running(world.clock.now()) == 15
