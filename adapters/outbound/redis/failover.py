"""What the fleet-wide limits do while Redis is unreachable: they fail open to this node's own limits."""

from __future__ import annotations

import logging
import time

from redis.exceptions import RedisError

from application.ports import ConnectionSlotStore, RateLimitStore
from domain.rate_limit import Decision, RateRule

log = logging.getLogger("vedfolnir.redis")


class _Outage:
    """Logs the switch to local limits once, and tries Redis again after `retry_after` seconds."""

    def __init__(self, retry_after: float) -> None:
        self.retry_after = retry_after
        self.since: float | None = None

    def redis_usable(self) -> bool:
        return self.since is None or time.monotonic() - self.since >= self.retry_after

    def failed(self, exc: Exception) -> None:
        if self.since is None:
            log.error("Redis unreachable (%s): limits fall back to this node's own until it returns", exc)
        self.since = time.monotonic()

    def recovered(self) -> None:
        if self.since is not None:
            log.warning("Redis reachable again: limits are fleet-wide again")
        self.since = None


class FailoverRateLimitStore:
    def __init__(self, fleet: RateLimitStore, local: RateLimitStore, retry_after: float = 5.0) -> None:
        self._fleet = fleet
        self._local = local
        self._outage = _Outage(retry_after)

    async def hit(self, key: str, rule: RateRule, now: float) -> Decision:
        if self._outage.redis_usable():
            try:
                decision = await self._fleet.hit(key, rule, now)
            except RedisError as exc:
                self._outage.failed(exc)
            else:
                self._outage.recovered()
                return decision
        return await self._local.hit(key, rule, now)


class FailoverSlotStore:
    """Counts connections on Redis; during an outage each node enforces the cap on its own connections."""

    def __init__(self, fleet: ConnectionSlotStore, local: ConnectionSlotStore, retry_after: float = 5.0) -> None:
        self._fleet = fleet
        self._local = local
        self._outage = _Outage(retry_after)

    async def acquire(self, key: str, holder: str, cap: int, now: float) -> bool:
        if not await self._local.acquire(key, holder, cap, now):
            return False
        if self._outage.redis_usable():
            try:
                granted = await self._fleet.acquire(key, holder, cap, now)
            except RedisError as exc:
                self._outage.failed(exc)
                return True
            self._outage.recovered()
            if not granted:
                await self._local.release(key, holder)
            return granted
        return True

    async def release(self, key: str, holder: str) -> None:
        await self._local.release(key, holder)
        try:
            await self._fleet.release(key, holder)
        except RedisError as exc:
            self._outage.failed(exc)  # the lease runs out by itself

    async def refresh(self, holders_by_key: dict[str, set[str]]) -> None:
        try:
            await self._fleet.refresh(holders_by_key)
        except RedisError as exc:
            self._outage.failed(exc)
