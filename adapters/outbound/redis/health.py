"""Redis health: a timed PING and the server's memory use, reported instead of raised."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from redis.asyncio import Redis

from domain.health import ComponentHealth, Health

TIMEOUT_SECONDS = 1.0


class RedisHealthProbe:
    component = "redis"

    def __init__(self, redis: Redis, timeout: float = TIMEOUT_SECONDS) -> None:
        self._redis = redis
        self._timeout = timeout

    async def check(self) -> ComponentHealth:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._timeout):  # not wait_for: it can drop a cancel on 3.11
                await self._redis.ping()
        except TimeoutError:
            return self._unhealthy(f"no answer to PING within {self._timeout:g}s")
        except Exception as exc:  # a probe reports every failure, it never raises
            first_line = next(iter(str(exc).splitlines()), "")[:200]
            return self._unhealthy(f"{type(exc).__name__}: {first_line}".rstrip(": "))
        metrics: dict[str, Any] = {"latency_ms": round((time.perf_counter() - started) * 1000, 2)}
        try:
            async with asyncio.timeout(self._timeout):
                info = await self._redis.info("memory")
        except Exception as exc:
            return ComponentHealth(
                self.component,
                Health.DEGRADED,
                detail=f"PING answered but INFO failed: {type(exc).__name__}",
                metrics=metrics,
            )
        metrics["used_memory"] = int(info.get("used_memory", 0))
        if info.get("maxmemory"):
            metrics["maxmemory"] = int(info["maxmemory"])
        return ComponentHealth(self.component, Health.HEALTHY, metrics=metrics)

    def _unhealthy(self, detail: str) -> ComponentHealth:
        return ComponentHealth(self.component, Health.UNHEALTHY, detail=detail)
