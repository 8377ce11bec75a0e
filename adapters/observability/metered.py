"""Ports and clients wrapped to feed the metrics: limiter decisions, published job events, DB and Redis latency."""

from __future__ import annotations

import time
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.observability.metrics import Metrics
from application.limits import connect_attempt_key, message_key
from domain.rate_limit import Decision, RateRule

_MESSAGE_PREFIX = message_key(0).split("user:")[0]
_CONNECT_PREFIX = connect_attempt_key("").split("ip:")[0]


def limit_of(key: str) -> str:
    if key.startswith(_MESSAGE_PREFIX):
        return "messages"
    if key.startswith(_CONNECT_PREFIX):
        return "connect_attempts"
    if key.startswith("handshake:"):  # adapters.inbound.handshake_guard.handshake_key (inbound: not importable here)
        return "handshakes"
    return "other"


class MeteredRateLimitStore:
    """The RateLimitStore port, counting each decision."""

    def __init__(self, inner: Any, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    async def hit(self, key: str, rule: RateRule, now: float) -> Decision:
        decision: Decision = await self._inner.hit(key, rule, now)
        self._metrics.limiter(limit_of(key), decision.allowed)
        return decision

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class MeteredSlotStore:
    """The ConnectionSlotStore port, counting each acquire as a 'connections' limiter decision."""

    def __init__(self, inner: Any, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    async def acquire(self, key: str, holder: str, cap: int, now: float) -> bool:
        allowed: bool = await self._inner.acquire(key, holder, cap, now)
        self._metrics.limiter("connections", allowed)
        return allowed

    async def release(self, key: str, holder: str) -> None:
        await self._inner.release(key, holder)

    async def refresh(self, holders_by_key: dict[str, set[str]]) -> None:
        await self._inner.refresh(holders_by_key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class MeteredPublisher:
    """The Publisher port, counting job starts, ends, durations and captions from the events published."""

    def __init__(self, inner: Any, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    async def publish(self, event: str, payload: dict[str, Any], *, namespace: str, room: str | list[str]) -> None:
        self._metrics.published(event, payload)
        await self._inner.publish(event, payload, namespace=namespace, room=room)


class TimedRedis(Redis):
    """redis-py's asyncio client timing every command (Lua calls of the limiters included)."""

    latency: Any = None

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        latency = self.latency
        if latency is None:
            return await super().execute_command(*args, **options)
        started = time.perf_counter()
        try:
            return await super().execute_command(*args, **options)
        finally:
            latency.observe(time.perf_counter() - started)


def time_statements(engine: AsyncEngine, latency: Any) -> None:
    """Observes every statement's execution time through SQLAlchemy's cursor events."""
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "before_cursor_execute")
    def _before(_conn: Any, _cursor: Any, _statement: Any, _params: Any, context: Any, _many: Any) -> None:
        context._vedfolnir_started = time.perf_counter()

    @event.listens_for(sync_engine, "after_cursor_execute")
    def _after(_conn: Any, _cursor: Any, _statement: Any, _params: Any, context: Any, _many: Any) -> None:
        started = getattr(context, "_vedfolnir_started", None)
        if started is not None:
            latency.observe(time.perf_counter() - started)
