"""JobRepository over SQL: a partial unique index keeps one active job per user; transitions are conditional UPDATEs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Insert, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.outbound.sql.convert import SqlRow, now_dt, to_dt, to_dt_or_none, to_epoch, to_epoch_or_none
from adapters.outbound.sql.errors import storage_errors
from adapters.outbound.sql.tables import caption_jobs as jobs
from adapters.outbound.sql.tables import caption_results as results
from application.port_errors import Conflict, NotFound
from application.ports import JobAlreadyActive
from domain.jobs import ACTIVE_STATUSES, CaptionJob, CaptionResult, JobStatus

_TIMES = ("resumed_at", "started_at", "finished_at")


class _AlreadyStored(Exception):
    """Rolls back the count update of a post that already has a result."""


def _progress(job: CaptionJob) -> dict[str, Any]:
    return {
        "total_posts": job.total_posts,
        "processed": job.processed,
        "successful": job.successful,
        "failed": job.failed,
        "processing_seconds": job.processing_seconds,
        "started_at": to_dt_or_none(job.started_at),
        "current_post_id": job.current_post_id,
        "current_post_url": job.current_post_url,
    }


def _clock(job: CaptionJob) -> dict[str, Any]:
    return {
        "status": job.status.value,
        "pause_reason": job.pause_reason,
        "running_seconds": job.running_seconds,
        "resumed_at": to_dt_or_none(job.resumed_at),
        "finished_at": to_dt_or_none(job.finished_at),
        "started_at": to_dt_or_none(job.started_at),
    }


def _row_values(job: CaptionJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "user_id": job.user_id,
        "platform_id": job.platform_id,
        "created_at": to_dt(job.created_at),
        "max_posts": job.max_posts,
        "reprocess_existing": job.reprocess_existing,
        **_progress(job),
        **_clock(job),
    }


def _job(row: SqlRow) -> CaptionJob:
    fields = dict(row._mapping)
    fields["status"] = JobStatus(fields["status"])
    fields["created_at"] = to_epoch(fields["created_at"])
    fields["reprocess_existing"] = bool(fields["reprocess_existing"])
    for name in _TIMES:
        fields[name] = to_epoch_or_none(fields[name])
    return CaptionJob(**fields)


def _result(row: SqlRow) -> CaptionResult:
    return CaptionResult(
        job_id=row.job_id,
        post_id=row.post_id,
        post_url=row.post_url,
        image_url=row.image_url,
        caption=row.caption,
        confidence_score=row.confidence_score,
        processing_time=row.processing_time,
        error_type=row.error_type,
        error_message=row.error_message,
    )


def _insert_new_result(dialect: str) -> Insert:
    """An INSERT that skips a (job_id, post_id) already stored instead of failing."""
    if dialect == "postgresql":
        return postgresql.insert(results).on_conflict_do_nothing(index_elements=["job_id", "post_id"])
    if dialect == "sqlite":
        return sqlite.insert(results).on_conflict_do_nothing(index_elements=["job_id", "post_id"])
    raise NotImplementedError(f"no upsert for {dialect}")


@storage_errors
class SqlJobRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add(self, job: CaptionJob) -> None:
        try:
            async with self._engine.begin() as conn:
                await conn.execute(insert(jobs).values(**_row_values(job)))
        except IntegrityError as exc:
            async with self._engine.connect() as conn:
                duplicate = await self._exists(conn, job.id)
            if duplicate:
                raise Conflict(f"a job with id {job.id!r} exists") from exc
            raise JobAlreadyActive(job.user_id) from exc

    async def get(self, job_id: str) -> CaptionJob | None:
        return await self._one(select(jobs).where(jobs.c.id == job_id))

    async def active_for_user(self, user_id: int) -> CaptionJob | None:
        return await self._one(
            select(jobs).where(jobs.c.user_id == user_id, jobs.c.status.in_(_values(ACTIVE_STATUSES)))
        )

    async def latest_for_user(self, user_id: int) -> CaptionJob | None:
        query = select(jobs).where(jobs.c.user_id == user_id).order_by(jobs.c.created_at.desc(), jobs.c.id.desc())
        return await self._one(query.limit(1))

    async def save_progress(self, job: CaptionJob) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(update(jobs).where(jobs.c.id == job.id).values(**_progress(job)))

    async def transition(self, job: CaptionJob, allowed_from: Iterable[JobStatus]) -> bool:
        allowed = _values(allowed_from)
        if not allowed:
            return False
        statement = update(jobs).where(jobs.c.id == job.id, jobs.c.status.in_(allowed)).values(**_clock(job))
        async with self._engine.begin() as conn:
            changed = await conn.execute(statement)
        return changed.rowcount == 1

    async def with_status(self, statuses: Iterable[JobStatus]) -> list[CaptionJob]:
        wanted = _values(statuses)
        if not wanted:
            return []
        query = select(jobs).where(jobs.c.status.in_(wanted)).order_by(jobs.c.created_at, jobs.c.id)
        async with self._engine.connect() as conn:
            return [_job(row) for row in await conn.execute(query)]

    async def add_result(self, job: CaptionJob, result: CaptionResult) -> bool:
        statement = _insert_new_result(self._engine.dialect.name).values(
            job_id=job.id,
            post_id=result.post_id,
            post_url=result.post_url,
            image_url=result.image_url,
            caption=result.caption,
            confidence_score=result.confidence_score,
            processing_time=result.processing_time,
            error_type=result.error_type,
            error_message=result.error_message,
            created_at=now_dt(),
        )
        active = jobs.c.status.in_(_values(ACTIVE_STATUSES))
        try:
            async with self._engine.begin() as conn:
                # Writing the counts first takes the job's row lock, so a cancel cannot slip in between.
                counted = await conn.execute(
                    update(jobs).where(jobs.c.id == job.id, active).values(**_progress(job), attempts=0)
                )
                if counted.rowcount != 1:
                    exists = (await conn.execute(select(jobs.c.id).where(jobs.c.id == job.id))).first()
                    if exists is None:
                        raise NotFound(f"no job {job.id!r}")
                    return False
                inserted = await conn.execute(statement)
                if inserted.rowcount != 1:
                    raise _AlreadyStored  # the first outcome of a post stands, and so do the job's counts
                await conn.execute(
                    update(jobs)
                    .where(jobs.c.id == job.id, jobs.c.status == JobStatus.RUNNING.value)
                    .values(running_seconds=job.running_seconds, resumed_at=to_dt_or_none(job.resumed_at))
                )
        except _AlreadyStored:
            return True
        except IntegrityError as exc:  # only the job foreign key is left to break
            raise NotFound(f"no job {job.id!r}") from exc
        return True

    async def begin_attempt(self, job_id: str) -> int | None:
        active = jobs.c.status.in_(_values(ACTIVE_STATUSES))
        statement = (
            update(jobs)
            .where(jobs.c.id == job_id, active)
            .values(attempts=jobs.c.attempts + 1)
            .returning(jobs.c.attempts)
        )
        async with self._engine.begin() as conn:
            count = (await conn.execute(statement)).scalar_one_or_none()
        return int(count) if count is not None else None

    async def results(self, job_id: str) -> list[CaptionResult]:
        query = select(results).where(results.c.job_id == job_id).order_by(results.c.id)
        async with self._engine.connect() as conn:
            return [_result(row) for row in await conn.execute(query)]

    async def _one(self, query: Any) -> CaptionJob | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return _job(row) if row is not None else None

    @staticmethod
    async def _exists(conn: AsyncConnection, job_id: str) -> bool:
        return (await conn.execute(select(jobs.c.id).where(jobs.c.id == job_id))).first() is not None


def _values(statuses: Iterable[JobStatus]) -> list[str]:
    return [JobStatus(status).value for status in statuses]
