"""Database health: a timed SELECT 1 that reports instead of raising."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.health import ComponentHealth, Health

TIMEOUT_SECONDS = 2.0


class SqlHealthProbe:
    component = "database"

    def __init__(self, engine: AsyncEngine, timeout: float = TIMEOUT_SECONDS) -> None:
        self._engine = engine
        self._timeout = timeout

    async def check(self) -> ComponentHealth:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._timeout):  # not wait_for: it can drop a cancel on 3.11
                await self._ping()
        except TimeoutError:
            return self._unhealthy(f"no answer to SELECT 1 within {self._timeout:g}s")
        except Exception as exc:  # a probe reports every failure, it never raises
            first_line = next(iter(str(exc).splitlines()), "")[:200]
            return self._unhealthy(f"{type(exc).__name__}: {first_line}".rstrip(": "))
        metrics: dict[str, Any] = {
            "latency_ms": round((time.perf_counter() - started) * 1000, 2),
            "dialect": self._engine.dialect.name,
        }
        checked_out = getattr(self._engine.pool, "checkedout", None)
        if callable(checked_out):
            metrics["pool_checked_out"] = checked_out()
        return ComponentHealth(self.component, Health.HEALTHY, metrics=metrics)

    async def _ping(self) -> None:
        async with self._engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    def _unhealthy(self, detail: str) -> ComponentHealth:
        return ComponentHealth(
            self.component, Health.UNHEALTHY, detail=detail, metrics={"dialect": self._engine.dialect.name}
        )
