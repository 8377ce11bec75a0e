"""Job wake-ups that reach the runner on any node: a local event set at once, and a Redis PUBLISH for the others."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable

from redis.asyncio import Redis

from adapters.outbound.memory.signals import LocalJobSignals
from adapters.outbound.redis.subscription import ChannelListener

log = logging.getLogger("vedfolnir.redis")

# A wake waits this long for its PUBLISH at most: a resume is answered even while Redis is stuck.
PUBLISH_TIMEOUT = 1.0


class RedisJobSignals:
    """The JobSignals port across nodes. A wake lost while Redis is down only delays the runner to its wait timeout;
    it is logged and counted in `lost_wakes` (read by the metrics), never raised to the use case."""

    def __init__(self, redis: Redis, channel: str = "vrt:jobs", on_lost: Callable[[], object] | None = None) -> None:
        self._on_lost = on_lost  # the metrics' counter of lost wakes
        self._redis = redis
        self._channel = channel
        # Tags this instance's messages: its own wake-ups come back from the channel, and were already
        # delivered locally; delivered again, late, they would end a wait armed after them.
        self._origin = secrets.token_hex(8)
        self._local = LocalJobSignals()
        self._listener = ChannelListener(redis, channel, self._on_message)
        self.lost_wakes = 0

    @property
    def healthy(self) -> bool:
        return self._listener.healthy

    async def start(self) -> None:
        await self._listener.start()

    async def stop(self) -> None:
        await self._listener.stop()

    def arm(self, job_id: str) -> None:
        self._local.arm(job_id)

    async def wake(self, job_id: str) -> None:
        self._local.wake_here(job_id)
        try:
            async with asyncio.timeout(PUBLISH_TIMEOUT):
                await self._redis.publish(self._channel, f"{self._origin} {job_id}")
        except Exception as exc:  # the stored state is the truth: other nodes' runners see it at their timeout
            self.lost_wakes += 1
            if self._on_lost is not None:
                self._on_lost()
            log.warning("could not publish the wake-up of job %s: %s: %s", job_id, type(exc).__name__, exc)

    async def wait(self, job_id: str, at_most: float) -> None:
        await self._local.wait(job_id, at_most)

    def forget(self, job_id: str) -> None:
        self._local.forget(job_id)

    async def _on_message(self, data: bytes | str) -> None:
        text = data.decode() if isinstance(data, bytes) else data
        origin, _, job_id = text.rpartition(" ")
        if origin != self._origin:
            self._local.wake_here(job_id)
