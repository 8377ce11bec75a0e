"""SqlHealthProbe: healthy with metrics when the database answers, unhealthy (never raising) when not."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.outbound.sql.engine import create_engine
from adapters.outbound.sql.health import SqlHealthProbe
from domain.health import Health
from tests.integration.databases import fresh_postgres_database


async def test_a_reachable_database_is_healthy(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'health.db'}")
    try:
        health = await SqlHealthProbe(engine).check()
    finally:
        await engine.dispose()
    assert health.component == "database"
    assert health.status is Health.HEALTHY
    assert health.metrics["dialect"] == "sqlite"
    assert health.metrics["latency_ms"] >= 0
    assert health.metrics["pool_checked_out"] == 0


@pytest.mark.postgres
async def test_a_reachable_postgres_is_healthy() -> None:
    async with fresh_postgres_database() as url:
        engine = create_engine(url)
        try:
            health = await SqlHealthProbe(engine).check()
        finally:
            await engine.dispose()
    assert health.status is Health.HEALTHY
    assert health.metrics["dialect"] == "postgresql"
    assert health.metrics["latency_ms"] >= 0
    assert health.metrics["pool_checked_out"] == 0


async def test_an_unreachable_database_is_unhealthy_without_raising() -> None:
    engine = create_engine("postgresql+asyncpg://postgres@127.0.0.1:1/nowhere")
    try:
        health = await SqlHealthProbe(engine, timeout=2.0).check()
    finally:
        await engine.dispose()
    assert health.status is Health.UNHEALTHY
    assert health.detail
    assert health.metrics == {"dialect": "postgresql"}
