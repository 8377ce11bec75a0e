"""JobRepository contract, run against every backend."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest

from application.port_errors import Conflict, NotFound
from application.ports import JobAlreadyActive
from domain.jobs import ACTIVE_STATUSES, CaptionJob, CaptionResult, JobStatus, new_job

if TYPE_CHECKING:
    from conftest import Backend

T0 = 1_700_000_000.5


def _job(job_id: str, user_id: int = 1, created_at: float = T0, **fields: Any) -> CaptionJob:
    return replace(new_job(job_id, user_id, platform_id=10, now=created_at, max_posts=5), **fields)


def _result(job_id: str, post_id: str, caption: str | None = "a cat", time: float = 1.5) -> CaptionResult:
    return CaptionResult(
        job_id=job_id,
        post_id=post_id,
        post_url=f"https://pix.example/p/{post_id}",
        image_url=f"https://pix.example/i/{post_id}.jpg",
        caption=caption,
        confidence_score=0.9 if caption else None,
        processing_time=time,
        error_type=None if caption else "MODEL_ERROR",
        error_message=None if caption else "the model refused",
    )


async def test_add_then_get_round_trips_every_field(backend: Backend) -> None:
    job = _job(
        "j1",
        status=JobStatus.PAUSED,
        total_posts=4,
        processed=2,
        successful=1,
        failed=1,
        processing_seconds=3.25,
        running_seconds=7.5,
        resumed_at=None,
        started_at=T0 + 1,
        current_post_id="p2",
        current_post_url="https://pix.example/p/p2",
        pause_reason="user_requested",
    )
    await backend.jobs.add(job)
    assert await backend.jobs.get("j1") == job


async def test_unknown_job_is_none(backend: Backend) -> None:
    await backend.jobs.add(_job("j1"))
    assert await backend.jobs.get("nope") is None


async def test_stored_job_is_not_aliased(backend: Backend) -> None:
    job = _job("j1")
    await backend.jobs.add(job)
    job.processed = 99
    fetched = await backend.jobs.get("j1")
    fetched.status = JobStatus.FAILED
    again = await backend.jobs.get("j1")
    assert again.processed == 0
    assert again.status is JobStatus.QUEUED


async def test_duplicate_job_id_is_refused(backend: Backend) -> None:
    await backend.jobs.add(_job("j1", status=JobStatus.COMPLETED))
    with pytest.raises(Conflict):
        await backend.jobs.add(_job("j1", user_id=2))


@pytest.mark.parametrize("status", sorted(ACTIVE_STATUSES))
async def test_one_active_job_per_user(backend: Backend, status: JobStatus) -> None:
    await backend.jobs.add(_job("j1", status=status))
    with pytest.raises(JobAlreadyActive):
        await backend.jobs.add(_job("j2", created_at=T0 + 1))
    assert await backend.jobs.get("j2") is None
    await backend.jobs.add(_job("j3", user_id=2))  # another user is not affected
    assert (await backend.jobs.active_for_user(2)).id == "j3"


async def test_a_new_job_may_start_once_the_active_one_finishes(backend: Backend) -> None:
    first = _job("j1")
    await backend.jobs.add(first)
    first.finish(JobStatus.COMPLETED, T0 + 10)
    assert await backend.jobs.transition(first, ACTIVE_STATUSES) is True
    await backend.jobs.add(_job("j2", created_at=T0 + 20))
    assert (await backend.jobs.active_for_user(1)).id == "j2"


async def test_finished_jobs_do_not_block_each_other(backend: Backend) -> None:
    await backend.jobs.add(_job("j1", status=JobStatus.COMPLETED))
    await backend.jobs.add(_job("j2", status=JobStatus.FAILED))
    await backend.jobs.add(_job("j3", status=JobStatus.CANCELLED))
    await backend.jobs.add(_job("j4"))
    assert (await backend.jobs.active_for_user(1)).id == "j4"


async def test_active_for_user_ignores_finished_jobs(backend: Backend) -> None:
    await backend.jobs.add(_job("j1", status=JobStatus.COMPLETED))
    assert await backend.jobs.active_for_user(1) is None
    assert await backend.jobs.active_for_user(2) is None


async def test_latest_for_user_is_the_newest_by_created_at(backend: Backend) -> None:
    await backend.jobs.add(_job("b", created_at=T0 + 50, status=JobStatus.COMPLETED))
    await backend.jobs.add(_job("a", created_at=T0 + 100, status=JobStatus.FAILED))
    await backend.jobs.add(_job("c", created_at=T0 + 10))
    await backend.jobs.add(_job("z", user_id=2, created_at=T0 + 500))
    assert (await backend.jobs.latest_for_user(1)).id == "a"
    assert (await backend.jobs.latest_for_user(2)).id == "z"
    assert await backend.jobs.latest_for_user(3) is None


async def test_transition_writes_status_and_clock(backend: Backend) -> None:
    job = _job("j1")
    await backend.jobs.add(job)
    job.start(3, T0 + 1)
    assert await backend.jobs.transition(job, [JobStatus.QUEUED]) is True
    job.pause("user_requested", T0 + 5)
    assert await backend.jobs.transition(job, [JobStatus.RUNNING]) is True
    stored = await backend.jobs.get("j1")
    assert stored.status is JobStatus.PAUSED
    assert stored.pause_reason == "user_requested"
    assert stored.running_seconds == pytest.approx(4.0)
    assert stored.resumed_at is None
    assert stored.started_at == pytest.approx(T0 + 1, abs=1e-6)
    job.resume(T0 + 9)
    assert await backend.jobs.transition(job, [JobStatus.PAUSED]) is True
    stored = await backend.jobs.get("j1")
    assert stored.status is JobStatus.RUNNING
    assert stored.pause_reason is None
    assert stored.resumed_at == pytest.approx(T0 + 9, abs=1e-6)


async def test_transition_refuses_from_a_wrong_status(backend: Backend) -> None:
    job = _job("j1")
    await backend.jobs.add(job)
    job.pause("admin", T0 + 1)
    assert await backend.jobs.transition(job, [JobStatus.RUNNING]) is False
    stored = await backend.jobs.get("j1")
    assert stored.status is JobStatus.QUEUED
    assert stored.pause_reason is None


async def test_transition_from_nothing_or_of_an_unknown_job_is_refused(backend: Backend) -> None:
    job = _job("j1")
    await backend.jobs.add(job)
    job.finish(JobStatus.CANCELLED, T0 + 1)
    assert await backend.jobs.transition(job, []) is False
    assert await backend.jobs.transition(_job("ghost", status=JobStatus.FAILED), ACTIVE_STATUSES) is False
    assert (await backend.jobs.get("j1")).status is JobStatus.QUEUED
    assert await backend.jobs.get("ghost") is None


async def test_a_finished_job_cannot_be_transitioned_again(backend: Backend) -> None:
    job = _job("j1")
    await backend.jobs.add(job)
    cancelled = replace(job)
    cancelled.finish(JobStatus.CANCELLED, T0 + 1)
    completed = replace(job)
    completed.finish(JobStatus.COMPLETED, T0 + 2)
    assert await backend.jobs.transition(cancelled, ACTIVE_STATUSES) is True
    assert await backend.jobs.transition(completed, ACTIVE_STATUSES) is False
    stored = await backend.jobs.get("j1")
    assert stored.status is JobStatus.CANCELLED
    assert stored.finished_at == pytest.approx(T0 + 1, abs=1e-6)


async def test_transition_leaves_progress_alone(backend: Backend) -> None:
    job = _job("j1")
    await backend.jobs.add(job)
    job.processed, job.successful, job.total_posts = 5, 5, 9
    job.pause(None, T0 + 1)
    assert await backend.jobs.transition(job, [JobStatus.QUEUED]) is True
    stored = await backend.jobs.get("j1")
    assert (stored.processed, stored.successful, stored.total_posts) == (0, 0, 0)


async def test_save_progress_writes_counts_but_never_status_or_clock(backend: Backend) -> None:
    job = _job("j1")
    await backend.jobs.add(job)
    job.start(8, T0 + 2)
    job.record(_result("j1", "p1"))
    job.record(_result("j1", "p2", caption=None))
    job.pause("later", T0 + 6)
    await backend.jobs.save_progress(job)
    stored = await backend.jobs.get("j1")
    assert stored.status is JobStatus.QUEUED
    assert stored.pause_reason is None
    assert stored.running_seconds == 0.0
    assert stored.resumed_at is None
    assert (stored.total_posts, stored.processed, stored.successful, stored.failed) == (8, 2, 1, 1)
    assert stored.processing_seconds == pytest.approx(3.0)
    assert stored.started_at == pytest.approx(T0 + 2, abs=1e-6)
    assert (stored.current_post_id, stored.current_post_url) == ("p2", "https://pix.example/p/p2")


async def test_save_progress_does_not_undo_a_concurrent_transition(backend: Backend) -> None:
    runner_copy = _job("j1")
    await backend.jobs.add(runner_copy)
    control_copy = await backend.jobs.get("j1")
    control_copy.finish(JobStatus.CANCELLED, T0 + 3)
    assert await backend.jobs.transition(control_copy, ACTIVE_STATUSES) is True
    runner_copy.start(2, T0 + 1)
    await backend.jobs.save_progress(runner_copy)
    stored = await backend.jobs.get("j1")
    assert stored.status is JobStatus.CANCELLED
    assert stored.total_posts == 2


async def test_add_result_stores_result_and_progress(backend: Backend) -> None:
    job = _job("j1")
    await backend.jobs.add(job)
    job.start(2, T0 + 1)
    first = _result("j1", "p1")
    job.record(first)
    await backend.jobs.add_result(job, first)
    assert await backend.jobs.results("j1") == [first]
    stored = await backend.jobs.get("j1")
    assert (stored.processed, stored.successful, stored.failed, stored.total_posts) == (1, 1, 0, 2)
    assert stored.current_post_id == "p1"
    assert stored.status is JobStatus.QUEUED  # add_result is progress, not a transition


async def test_add_result_is_idempotent_per_post(backend: Backend) -> None:
    job = _job("j1")
    await backend.jobs.add(job)
    first = _result("j1", "p1", caption="first")
    job.record(first)
    await backend.jobs.add_result(job, first)
    again = _result("j1", "p1", caption="second")
    job.record(again)
    await backend.jobs.add_result(job, again)
    assert await backend.jobs.results("j1") == [first]
    stored = await backend.jobs.get("j1")
    assert (stored.processed, stored.successful) == (1, 1)


async def test_the_job_options_round_trip(backend: Backend) -> None:
    await backend.jobs.add(_job("j1", reprocess_existing=True))
    await backend.jobs.add(_job("j2", user_id=2))
    first, second = await backend.jobs.get("j1"), await backend.jobs.get("j2")
    assert (first.max_posts, first.reprocess_existing) == (5, True)
    assert second.reprocess_existing is False


async def test_add_result_after_a_cancel_stores_nothing(backend: Backend) -> None:
    runner_copy = _job("j1")
    await backend.jobs.add(runner_copy)
    cancelled = await backend.jobs.get("j1")
    cancelled.finish(JobStatus.CANCELLED, T0 + 2)
    assert await backend.jobs.transition(cancelled, ACTIVE_STATUSES)
    late = _result("j1", "p1")
    runner_copy.record(late)
    assert await backend.jobs.add_result(runner_copy, late) is False
    assert await backend.jobs.results("j1") == []
    stored = await backend.jobs.get("j1")
    assert stored.status is JobStatus.CANCELLED and stored.processed == 0


async def test_add_result_banks_the_running_clock_only_while_running(backend: Backend) -> None:
    job = _job("j1")
    await backend.jobs.add(job)
    job.start(3, T0 + 1)
    assert await backend.jobs.transition(job, [JobStatus.QUEUED])
    first = _result("j1", "p1")
    job.record(first)
    job.checkpoint(T0 + 4)
    assert await backend.jobs.add_result(job, first) is True
    stored = await backend.jobs.get("j1")
    assert stored.running_seconds == pytest.approx(3.0)
    assert stored.resumed_at == pytest.approx(T0 + 4, abs=1e-6)

    paused = await backend.jobs.get("j1")
    paused.pause("user_requested", T0 + 5)
    assert await backend.jobs.transition(paused, [JobStatus.RUNNING])
    second = _result("j1", "p2")
    job.record(second)
    job.checkpoint(T0 + 9)  # the runner's copy still thinks it runs
    assert await backend.jobs.add_result(job, second) is True
    stored = await backend.jobs.get("j1")
    assert stored.processed == 2
    assert stored.running_seconds == pytest.approx(4.0) and stored.resumed_at is None  # the pause's clock stands


async def test_add_result_for_unknown_job_raises_lookup_error(backend: Backend) -> None:
    ghost = _job("ghost")
    with pytest.raises(NotFound):
        await backend.jobs.add_result(ghost, _result("ghost", "p1"))
    assert await backend.jobs.results("ghost") == []


async def test_results_keep_insertion_order_and_belong_to_their_job(backend: Backend) -> None:
    job = _job("j1")
    other = _job("j2", user_id=2)
    await backend.jobs.add(job)
    await backend.jobs.add(other)
    posted = [_result("j1", post_id) for post_id in ("p9", "p1", "p5")]
    posted[1] = _result("j1", "p1", caption=None, time=0.0)
    for result in posted:
        job.record(result)
        await backend.jobs.add_result(job, result)
    await backend.jobs.add_result(other, _result("j2", "p1"))
    assert await backend.jobs.results("j1") == posted
    assert [r.post_id for r in await backend.jobs.results("j2")] == ["p1"]
    assert await backend.jobs.results("none") == []


async def test_with_status_filters_and_orders_by_creation(backend: Backend) -> None:
    await backend.jobs.add(_job("late", user_id=1, created_at=T0 + 30, status=JobStatus.RUNNING))
    await backend.jobs.add(_job("early", user_id=2, created_at=T0 + 10, status=JobStatus.PAUSED))
    await backend.jobs.add(_job("done", user_id=3, created_at=T0 + 20, status=JobStatus.COMPLETED))
    await backend.jobs.add(_job("queued", user_id=4, created_at=T0 + 40))
    active = await backend.jobs.with_status(ACTIVE_STATUSES)
    assert [job.id for job in active] == ["early", "late", "queued"]
    assert [job.id for job in await backend.jobs.with_status([JobStatus.COMPLETED])] == ["done"]
    assert await backend.jobs.with_status([JobStatus.FAILED]) == []
    assert await backend.jobs.with_status([]) == []


async def test_attempts_count_runs_until_a_post_is_stored_and_only_of_active_jobs(backend: Backend) -> None:
    job = _job("j1", status=JobStatus.RUNNING, total_posts=3)
    await backend.jobs.add(job)
    assert [await backend.jobs.begin_attempt("j1") for _ in range(3)] == [1, 2, 3]
    assert (await backend.jobs.get("j1")).attempts == 3  # type: ignore[union-attr]
    job.record(_result("j1", "p1"))
    assert await backend.jobs.add_result(job, _result("j1", "p1"))
    assert (await backend.jobs.get("j1")).attempts == 0  # type: ignore[union-attr]
    assert await backend.jobs.begin_attempt("j1") == 1
    assert await backend.jobs.begin_attempt("nope") is None
    job.finish(JobStatus.FAILED, T0 + 5)
    assert await backend.jobs.transition(job, ACTIVE_STATUSES)
    assert await backend.jobs.begin_attempt("j1") is None
    assert (await backend.jobs.get("j1")).attempts == 1  # type: ignore[union-attr]
