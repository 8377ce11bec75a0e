"""The caption job model: states, counts, pace and time remaining."""

from __future__ import annotations

import pytest

from domain.errors import DomainError, ErrorCode
from domain.jobs import CaptionResult, JobStatus, new_job


def result(post: str, ok: bool = True, seconds: float = 2.0) -> CaptionResult:
    return CaptionResult(
        "j",
        post,
        f"https://x/p/{post}",
        "https://x/i.jpg",
        "caption" if ok else None,
        0.9 if ok else None,
        seconds,
        None if ok else "OLLAMA_CONNECTION_ERROR",
    )


def test_counts_percentage_and_pace() -> None:
    job = new_job("j", 1, 1, now=0.0)
    job.start(4, now=10.0)
    job.record(result("a"))
    job.record(result("b", ok=False))
    assert (job.processed, job.successful, job.failed) == (2, 1, 1)
    assert job.progress_percentage == 50
    # 10 s of running for 2 posts -> 5 s a post -> 2 left -> 10 s
    assert job.estimated_time_remaining(now=20.0, default_seconds_per_post=1.0) == 10


def test_pauses_do_not_count_towards_the_pace() -> None:
    job = new_job("j", 1, 1, now=0.0)
    job.start(3, now=0.0)
    job.record(result("a"))
    job.pause("user_requested", now=4.0)
    job.resume(now=100.0)
    assert job.elapsed_running(now=104.0) == pytest.approx(8.0)
    assert job.estimated_time_remaining(now=104.0, default_seconds_per_post=1.0) == 16


def test_default_pace_before_the_first_post() -> None:
    job = new_job("j", 1, 1, now=0.0)
    job.start(10, now=0.0)
    assert job.estimated_time_remaining(now=0.0, default_seconds_per_post=3.0) == 30


@pytest.mark.parametrize("action", ["resume", "pause_twice"])
def test_invalid_transitions_are_refused(action: str) -> None:
    job = new_job("j", 1, 1, now=0.0)
    job.start(1, now=0.0)
    with pytest.raises(DomainError) as err:
        if action == "resume":
            job.resume(now=1.0)
        else:
            job.pause(None, now=1.0)
            job.pause(None, now=2.0)
    assert err.value.code is ErrorCode.INVALID_JOB_STATE


def test_finish_is_final() -> None:
    job = new_job("j", 1, 1, now=0.0)
    job.start(1, now=0.0)
    job.finish(JobStatus.COMPLETED, now=5.0)
    assert not job.is_active and job.running_seconds == 5.0
    with pytest.raises(DomainError):
        job.finish(JobStatus.FAILED, now=6.0)


def test_a_paused_queued_job_stays_paused_when_started() -> None:
    job = new_job("j", 1, 1, now=0.0)
    job.pause("early", now=0.0)
    job.start(5, now=1.0)
    assert job.status is JobStatus.PAUSED and job.total_posts == 5
    job.resume(now=2.0)
    assert job.status is JobStatus.RUNNING


def test_max_posts_must_be_positive() -> None:
    with pytest.raises(DomainError):
        new_job("j", 1, 1, now=0.0, max_posts=0)


def test_the_reference_percentages_post_5_of_25_processing_is_20_percent() -> None:
    job = new_job("j", 1, 1, now=0.0)
    job.start(25, now=0.0)
    for n in range(4):
        job.record(result(str(n)))
    assert job.current_post == 5 and job.percentage_at(job.current_post) == 20
    job.record(result("4"))
    job.pause("user_requested", now=1.0)
    assert job.current_post == 5  # paused between posts: the last one done
    job.resume(now=2.0)
    assert job.current_post == 6 and job.percentage_at(6) == 24


def test_a_status_always_has_a_progress_object_with_the_same_current_post() -> None:
    from domain.messages import caption_status, job_progress

    assert caption_status(7, None)["current_progress"] == {
        "current_post": 0,
        "total_posts": 0,
        "progress_percentage": 0,
    }
    job = new_job("j", 7, 1, now=0.0)
    job.start(25, now=0.0)
    for n in range(4):
        job.record(result(str(n)))
    status = caption_status(7, job)["current_progress"]
    progress = job_progress(job, 5, "processing", 0)
    assert status == {"current_post": 5, "total_posts": 25, "progress_percentage": 20}
    assert (progress["current_post"], progress["progress_percentage"]) == (5, 20)
    for n in range(4, 25):
        job.record(result(str(n)))
    job.finish(JobStatus.COMPLETED, now=9.0)
    assert caption_status(7, job)["current_progress"] == {
        "current_post": 25,
        "total_posts": 25,
        "progress_percentage": 100,
    }
