"""In-memory JobRepository: same guarantees as the SQL one (one active job per user, guarded transitions)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from application.port_errors import Conflict, NotFound
from application.ports import JobAlreadyActive
from domain.jobs import ACTIVE_STATUSES, CaptionJob, CaptionResult, JobStatus

# The fields each write may touch; everything else in the stored job stays as it was.
PROGRESS_FIELDS = (
    "total_posts",
    "processed",
    "successful",
    "failed",
    "processing_seconds",
    "started_at",
    "current_post_id",
    "current_post_url",
)
TRANSITION_FIELDS = ("status", "pause_reason", "running_seconds", "resumed_at", "finished_at", "started_at")


class InMemoryJobRepository:
    def __init__(self) -> None:
        self._jobs: dict[str, CaptionJob] = {}
        self._results: dict[str, dict[str, CaptionResult]] = {}

    async def add(self, job: CaptionJob) -> None:
        if job.id in self._jobs:
            raise Conflict(f"a job with id {job.id!r} exists")
        if job.status in ACTIVE_STATUSES and self._active(job.user_id) is not None:
            raise JobAlreadyActive(job.user_id)
        self._jobs[job.id] = replace(job)
        self._results[job.id] = {}

    async def get(self, job_id: str) -> CaptionJob | None:
        job = self._jobs.get(job_id)
        return replace(job) if job is not None else None

    async def active_for_user(self, user_id: int) -> CaptionJob | None:
        job = self._active(user_id)
        return replace(job) if job is not None else None

    async def latest_for_user(self, user_id: int) -> CaptionJob | None:
        mine = [job for job in self._jobs.values() if job.user_id == user_id]
        if not mine:
            return None
        return replace(max(mine, key=lambda job: (job.created_at, job.id)))

    async def save_progress(self, job: CaptionJob) -> None:
        self._copy_fields(job, PROGRESS_FIELDS)

    async def transition(self, job: CaptionJob, allowed_from: Iterable[JobStatus]) -> bool:
        stored = self._jobs.get(job.id)
        if stored is None or stored.status not in set(allowed_from):
            return False
        self._copy_fields(job, TRANSITION_FIELDS)
        return True

    async def with_status(self, statuses: Iterable[JobStatus]) -> list[CaptionJob]:
        wanted = set(statuses)
        found = [replace(job) for job in self._jobs.values() if job.status in wanted]
        return sorted(found, key=lambda job: (job.created_at, job.id))

    async def add_result(self, job: CaptionJob, result: CaptionResult) -> bool:
        results = self._results.get(job.id)
        stored = self._jobs.get(job.id)
        if results is None or stored is None:
            raise NotFound(f"no job {job.id!r}")
        if stored.status not in ACTIVE_STATUSES:
            return False
        if result.post_id in results:
            return True  # the first outcome of a post stands; counting it again would inflate the job
        results[result.post_id] = result
        self._copy_fields(job, PROGRESS_FIELDS)
        self._jobs[job.id] = replace(self._jobs[job.id], attempts=0)
        if stored.status is JobStatus.RUNNING:
            self._copy_fields(job, ("running_seconds", "resumed_at"))
        return True

    async def begin_attempt(self, job_id: str) -> int | None:
        stored = self._jobs.get(job_id)
        if stored is None or stored.status not in ACTIVE_STATUSES:
            return None
        self._jobs[job_id] = replace(stored, attempts=stored.attempts + 1)
        return stored.attempts + 1

    async def results(self, job_id: str) -> list[CaptionResult]:
        return list(self._results.get(job_id, {}).values())

    def _active(self, user_id: int) -> CaptionJob | None:
        return next(
            (job for job in self._jobs.values() if job.user_id == user_id and job.status in ACTIVE_STATUSES),
            None,
        )

    def _copy_fields(self, job: CaptionJob, fields: tuple[str, ...]) -> None:
        stored = self._jobs.get(job.id)
        if stored is not None:
            self._jobs[job.id] = replace(stored, **{name: getattr(job, name) for name in fields})
