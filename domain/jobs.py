"""Caption jobs: their states, their counts and the pace they set."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.errors import DomainError, ErrorCode


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE_STATUSES = frozenset({JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.PAUSED})


@dataclass(frozen=True, slots=True)
class PostImage:
    """One image of a post that lacks alt text."""

    post_id: str
    post_url: str
    image_url: str
    # Where the description goes back (review and publishing); sources that cannot publish leave them None.
    status_id: str | None = None
    media_id: str | None = None
    description: str | None = None  # the description the image had when it was listed


@dataclass(frozen=True, slots=True)
class CaptionResult:
    """What became of one post: a caption, or the failure that stopped it."""

    job_id: str
    post_id: str
    post_url: str
    image_url: str
    caption: str | None
    confidence_score: float | None
    processing_time: float
    error_type: str | None = None
    error_message: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.caption is not None


@dataclass(slots=True)
class CaptionJob:
    id: str
    user_id: int
    platform_id: int
    status: JobStatus
    created_at: float
    max_posts: int | None = None
    reprocess_existing: bool = False  # caption images that already have a description too
    total_posts: int = 0
    processed: int = 0
    successful: int = 0
    failed: int = 0
    processing_seconds: float = 0.0
    running_seconds: float = 0.0
    resumed_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    current_post_id: str | None = None
    current_post_url: str | None = None
    pause_reason: str | None = None
    attempts: int = 0  # runs begun since the job last stored a post's outcome

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def start(self, total_posts: int, now: float) -> None:
        """Records the post count; a queued or running job runs from now, a paused one stays paused."""
        self._require(JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.PAUSED)
        self.total_posts = total_posts
        if self.started_at is None:
            self.started_at = now
        if self.status is not JobStatus.PAUSED:
            self.status = JobStatus.RUNNING
            self.resumed_at = now

    def record(self, result: CaptionResult) -> None:
        self.processed += 1
        self.processing_seconds += result.processing_time
        if result.succeeded:
            self.successful += 1
        else:
            self.failed += 1
        self.current_post_id = result.post_id
        self.current_post_url = result.post_url

    def checkpoint(self, now: float) -> None:
        """Banks the running time so far, so a crash loses at most the time since the last checkpoint."""
        if self.resumed_at is not None:
            self.running_seconds += max(now - self.resumed_at, 0.0)
            self.resumed_at = now

    def pause(self, reason: str | None, now: float) -> None:
        self._require(JobStatus.RUNNING, JobStatus.QUEUED)
        self._stop_clock(now)
        self.status = JobStatus.PAUSED
        self.pause_reason = reason

    def resume(self, now: float) -> None:
        self._require(JobStatus.PAUSED)
        self.status = JobStatus.RUNNING if self.started_at is not None else JobStatus.QUEUED
        self.pause_reason = None
        if self.started_at is not None:
            self.resumed_at = now

    def finish(self, status: JobStatus, now: float) -> None:
        if status not in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED):
            raise ValueError(f"{status} is not a final status")
        if not self.is_active:
            raise DomainError(ErrorCode.INVALID_JOB_STATE, f"The job is already {self.status.value}")
        self._stop_clock(now)
        self.status = status
        self.finished_at = now

    def elapsed_running(self, now: float) -> float:
        """Seconds spent running, pauses excluded."""
        live = now - self.resumed_at if self.resumed_at is not None else 0.0
        return self.running_seconds + max(live, 0.0)

    @property
    def progress_percentage(self) -> int:
        if self.total_posts <= 0:
            return 100 if self.status is JobStatus.COMPLETED else 0
        return min(100, (self.processed * 100) // self.total_posts)

    def percentage_at(self, post_number: int) -> int:
        """How far through its posts the job is at post `post_number` (1-based): post 5 of 25 is 20 %."""
        if self.total_posts <= 0:
            return 100 if self.status is JobStatus.COMPLETED else 0
        return min(100, max(post_number, 0) * 100 // self.total_posts)

    @property
    def current_post(self) -> int:
        """The post the job is at (1-based): the one being processed while it runs, else the last one done."""
        if self.status is JobStatus.RUNNING and self.processed < self.total_posts:
            return self.processed + 1
        return self.processed

    def estimated_time_remaining(self, now: float, default_seconds_per_post: float) -> int:
        """Seconds left at the job's own pace so far (or the default pace before the first post)."""
        remaining = max(self.total_posts - self.processed, 0)
        if self.processed:
            pace = self.elapsed_running(now) / self.processed
        else:
            pace = default_seconds_per_post
        return round(remaining * pace)

    def _stop_clock(self, now: float) -> None:
        if self.resumed_at is not None:
            self.running_seconds += max(now - self.resumed_at, 0.0)
            self.resumed_at = None

    def _require(self, *allowed: JobStatus) -> None:
        if self.status not in allowed:
            raise DomainError(
                ErrorCode.INVALID_JOB_STATE,
                f"The job is {self.status.value}; this needs it {' or '.join(s.value for s in allowed)}",
                job_status=self.status.value,
            )


def new_job(
    job_id: str,
    user_id: int,
    platform_id: int,
    now: float,
    max_posts: int | None = None,
    reprocess_existing: bool = False,
) -> CaptionJob:
    if max_posts is not None and max_posts < 1:
        raise DomainError(ErrorCode.INVALID_MESSAGE, "max_posts must be at least 1", field="max_posts")
    return CaptionJob(
        id=job_id,
        user_id=user_id,
        platform_id=platform_id,
        status=JobStatus.QUEUED,
        created_at=now,
        max_posts=max_posts,
        reprocess_existing=reprocess_existing,
    )
