"""No silent failure: a job that raises ends as failed and says so; runs that keep dying are bounded; DATABASE_ERROR."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from dependency_injector import providers
from redis.asyncio import Redis

import bootstrap
from application.ports import GeneratedCaption
from domain.jobs import PostImage
from tests.integration.databases import _dsn, fresh_postgres_database
from tests.integration.harness import Client, Server, serve, settings_for

FAILED_FIELDS = {"user_id", "job_id", "post_id", "error_type", "error_message", "retry_possible"}


class ExplodingGenerator:
    """Captions the first post, then raises what no adapter should: a plain bug."""

    seconds_per_post_estimate = 0.1

    def __init__(self) -> None:
        self.calls = 0

    async def caption(self, post: PostImage) -> GeneratedCaption:
        self.calls += 1
        if self.calls > 1:
            raise RuntimeError("an unexpected bug in a caption generator")
        return GeneratedCaption("A caption.", 0.9, 0.01)


@contextlib.asynccontextmanager
async def serve_with_generator(settings: bootstrap.Settings, generator: Any) -> AsyncIterator[Server]:
    container = bootstrap.build_container(settings)
    container.caption_generator.override(providers.Object(generator))
    runner = web.AppRunner(bootstrap.build_app(container), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield Server(f"http://127.0.0.1:{runner.addresses[0][1]}", container, settings)
    finally:
        await runner.cleanup()


async def start_job(server: Server, user_id: int, **extra: Any) -> str:
    status, body = await server.api("POST", "/api/v1/caption-jobs", {"user_id": user_id, **extra})
    assert status == 202, body
    return str(body["job_id"])


def assert_failed_job(client: Client, job_id: str, retry_possible: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """The job's last two events: CAPTION_GENERATION_FAILED, then its completion with status failed."""
    mine = [(n, d) for n, d in client.inbox.events if isinstance(d, dict) and d.get("job_id") == job_id]
    (error_name, error), (done_name, done) = mine[-2:]
    assert (error_name, done_name) == ("caption_generation_error", "caption_generation_completed"), mine
    assert set(error) == FAILED_FIELDS | {"timestamp", "message_id"}
    assert error == error | {
        "job_id": job_id,
        "post_id": None,
        "error_type": "CAPTION_GENERATION_FAILED",
        "retry_possible": retry_possible,
    }
    assert done["status"] == "failed"
    return error, done


async def test_a_job_that_raises_ends_failed_and_says_so(tmp_path: Path) -> None:
    generator = ExplodingGenerator()
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'raise.db'}")
    async with serve_with_generator(settings, generator) as server:
        session = await server.session("demo")
        client = await server.client(session)
        try:
            job_id = await start_job(server, session.user_id)
            await client.inbox.next("caption_generation_completed", timeout=10)
            error, done = assert_failed_job(client, job_id, retry_possible=True)
            assert "unexpected" in error["error_message"] and "bug" not in error["error_message"]  # no internals
            assert done == done | {"total_posts_processed": 1, "successful_captions": 1, "failed_captions": 0}
            status = await client.call("request_caption_status", {})
            assert status == status | {"job_id": job_id, "is_active": False, "status": "failed"}
            assert server.container.scheduler().running == 0
            # the user may start again at once: the failed job no longer blocks a new one
            await start_job(server, session.user_id)
        finally:
            await client.close()
    assert generator.calls >= 2


async def sql(db: Path, statement: str) -> None:
    """Runs a statement on the SQLite file from a thread: the server in this loop may hold the write lock."""

    def run() -> None:
        with contextlib.closing(sqlite3.connect(db, timeout=10)) as conn:
            conn.execute(statement)

    await asyncio.to_thread(run)


async def test_a_database_failure_answers_database_error_and_fails_the_running_job(tmp_path: Path) -> None:
    db = tmp_path / "dbfail.db"
    async with serve(settings_for(f"sqlite+aiosqlite:///{db}", demo_caption_seconds=0.3)) as server:
        session = await server.session("demo")
        client = await server.client(session)
        try:
            job_id = await start_job(server, session.user_id)
            await client.inbox.next("caption_generated", timeout=10)
            # The results table goes away under the running job: storing the next post fails.
            await sql(db, "ALTER TABLE caption_results RENAME TO caption_results_away")
            await client.inbox.until("caption_generation_completed", lambda c: c["job_id"] == job_id, timeout=10)
            assert_failed_job(client, job_id, retry_possible=True)

            await sql(db, "ALTER TABLE caption_jobs RENAME TO caption_jobs_away")
            refused = await client.call("request_caption_status", {"correlation_id": "ask-1"})
            assert refused == refused | {
                "error_code": "DATABASE_ERROR",
                "retry_possible": True,
                "correlation_id": "ask-1",
            }
            assert refused["error_details"] == {"original_event": "request_caption_status", "user_id": session.user_id}
            assert "caption_jobs" not in refused["error_message"]  # the driver's text stays in the log
            assert client.inbox.of("error")[-1] == refused
            code, body = await server.api("POST", "/api/v1/caption-jobs", {"user_id": session.user_id})
            assert code == 503 and body["data"]["error_code"] == "DATABASE_ERROR"
            assert body["data"]["retry_possible"] is True

            # a connect whose session must be read from the failing database is refused the same way
            fresh = await server.session("demo")
            await sql(db, "ALTER TABLE sessions RENAME TO sessions_away")
            try:
                refused_connect = await server.client(fresh, expect_refusal=True)
            finally:
                await sql(db, "ALTER TABLE sessions_away RENAME TO sessions")
            assert refused_connect.refused_by_event == "error"
            assert refused_connect.connect_error["data"]["error_code"] == "DATABASE_ERROR"
            assert refused_connect.connect_error["data"]["error_details"]["original_event"] == "connect"

            # retry_possible is true: once the database is back, the same request works
            await sql(db, "ALTER TABLE caption_jobs_away RENAME TO caption_jobs")
            status = await client.call("request_caption_status", {})
            assert status == status | {"job_id": job_id, "status": "failed", "is_active": False}
        finally:
            await client.close()


async def test_runs_that_keep_dying_are_bounded_and_the_count_survives_restarts(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'attempts.db'}"
    # a post takes a minute: each server below is stopped with the first post in flight, storing nothing
    settings = settings_for(url, demo_caption_seconds=60.0, job_max_attempts=2)
    async with serve(settings) as server:
        session = await server.session("demo", ttl=3600)
        client = await server.client(session)
        try:
            job_id = await start_job(server, session.user_id)
            await client.inbox.until("caption_progress", lambda p: p["status"] == "processing")
        finally:
            await client.close()
    async with serve(settings) as server:  # restarted: the second run, again stopped mid-post
        await until_job(server, job_id, lambda job: job.attempts == 2 and job.total_posts == 6)
    async with serve(settings) as server:  # a third run would exceed JOB_MAX_ATTEMPTS=2: failed instead
        client = await server.client(session)
        try:
            await until_job(server, job_id, lambda job: not job.is_active)
            status = await client.call("request_caption_status", {})
            assert status == status | {"job_id": job_id, "status": "failed", "is_active": False}
            code, state = await server.api("GET", f"/api/v1/caption-jobs/{job_id}")
            assert code == 200 and state["status"] == "failed" and state["processed"] == 0
        finally:
            await client.close()


async def until_job(server: Server, job_id: str, predicate: Any, timeout: float = 10.0) -> None:
    """Waits until the stored job satisfies `predicate`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        job = await server.container.jobs().get(job_id)
        if job is not None and predicate(job):
            return
        assert asyncio.get_running_loop().time() < deadline, job
        await asyncio.sleep(0.05)


# --- workers mode: Postgres, Redis, a serving node and a worker in this process ---


@pytest.fixture
async def workers_settings() -> AsyncIterator[bootstrap.Settings]:
    channel = f"vrt-fail-{uuid.uuid4().hex[:10]}"
    async with fresh_postgres_database() as url:
        yield settings_for(
            url,
            redis_url="redis://127.0.0.1:6379/0",
            redis_channel=channel,
            run_jobs="workers",
            demo_caption_seconds=60.0,
            job_max_attempts=1,
            job_lease_seconds=2.0,
            worker_poll_seconds=0.2,
            job_recheck_seconds=0.5,
        )
        redis = Redis.from_url("redis://127.0.0.1:6379/0")
        keys = [k async for k in redis.scan_iter(f"{channel}*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


@contextlib.asynccontextmanager
async def worker(settings: bootstrap.Settings) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.get_running_loop().create_task(bootstrap.run_worker(settings, stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


@pytest.mark.postgres
@pytest.mark.redis
async def test_workers_fail_a_job_that_keeps_dying_instead_of_claiming_it_forever(
    workers_settings: bootstrap.Settings,
) -> None:
    async with serve(workers_settings) as server:
        session = await server.session("demo")
        client = await server.client(session)
        try:
            job_id = await start_job(server, session.user_id)
            async with worker(workers_settings):  # the first run: stopped with its first post in flight
                await client.inbox.until("caption_progress", lambda p: p["status"] == "processing", timeout=15)
            async with worker(workers_settings):  # the next claim would be a second run: over the bound
                await client.inbox.until("caption_generation_completed", lambda c: c["job_id"] == job_id, timeout=15)
                error, _ = assert_failed_job(client, job_id, retry_possible=False)
                assert "1 run in a row" in error["error_message"]
                await asyncio.sleep(1.0)  # several claim rounds: nothing claims the failed job again
            assert len(client.inbox.of("caption_generation_started")) == 1
            assert (await server.container.jobs().get(job_id)).status.value == "failed"  # type: ignore[union-attr]
        finally:
            await client.close()


@pytest.mark.postgres
@pytest.mark.redis
async def test_a_worker_whose_job_raises_ends_it_failed(workers_settings: bootstrap.Settings) -> None:
    settings = workers_settings.model_copy(update={"demo_caption_seconds": 0.3, "job_max_attempts": 3})
    async with serve(settings) as server:
        session = await server.session("demo")
        client = await server.client(session)
        try:
            job_id = await start_job(server, session.user_id)
            async with worker(settings):
                await client.inbox.next("caption_generated", timeout=15)
                admin = await asyncpg.connect(_dsn(settings.database_url))
                try:
                    await admin.execute("ALTER TABLE caption_results RENAME TO caption_results_away")
                finally:
                    await admin.close()
                await client.inbox.until("caption_generation_completed", lambda c: c["job_id"] == job_id, timeout=15)
                assert_failed_job(client, job_id, retry_possible=True)
                await asyncio.sleep(1.0)  # claim rounds pass; the failed job is not run again
            assert len(client.inbox.of("caption_generation_started")) == 1
            assert len(client.inbox.of("caption_generation_completed")) == 1
        finally:
            await client.close()
