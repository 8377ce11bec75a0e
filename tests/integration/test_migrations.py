"""Alembic migrations: idempotent, and they build exactly tables.metadata on SQLite and Postgres."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from adapters.outbound.sql.engine import alembic_config, create_engine, migrate
from adapters.outbound.sql.tables import metadata
from tests.integration.databases import fresh_postgres_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}"
        return
    async with fresh_postgres_database() as url:
        yield url


def _diffs(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, metadata)


def _schema(connection: Connection) -> dict[str, Any]:
    inspector = inspect(connection)
    return {
        table: (
            [column["name"] for column in inspector.get_columns(table)],
            sorted(index["name"] for index in inspector.get_indexes(table)),
        )
        for table in inspector.get_table_names()
    }


async def test_migrated_schema_matches_the_metadata(database_url: str) -> None:
    await migrate(database_url)
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_diffs) == []
            tables = set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await engine.dispose()
    assert tables == set(metadata.tables) | {"alembic_version"}


async def test_migrating_twice_is_a_no_op(database_url: str) -> None:
    await migrate(database_url)
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            before = await conn.run_sync(_schema)
        await migrate(database_url)
        async with engine.connect() as conn:
            after = await conn.run_sync(_schema)
            versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
    finally:
        await engine.dispose()
    assert after == before
    assert versions == [ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()]


async def test_the_partial_index_only_binds_active_jobs(database_url: str) -> None:
    await migrate(database_url)
    engine = create_engine(database_url)
    insert = text(
        "INSERT INTO caption_jobs (id, user_id, platform_id, status, created_at, total_posts, processed,"
        " successful, failed, processing_seconds, running_seconds)"
        " VALUES (:id, 1, 1, :status, CURRENT_TIMESTAMP, 0, 0, 0, 0, 0, 0)"
    )
    try:
        async with engine.begin() as conn:
            for job_id, status in (("a", "completed"), ("b", "failed"), ("c", "running")):
                await conn.execute(insert, {"id": job_id, "status": status})
        with pytest.raises(Exception, match=r"(?i)unique"):
            async with engine.begin() as conn:
                await conn.execute(insert, {"id": "d", "status": "paused"})
    finally:
        await engine.dispose()
