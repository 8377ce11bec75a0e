"""Job wake-ups that reach the runner on any node: a local event set at once, and a Redis PUBLISH for the others."""

from __future__ import annotations

import asyncio
import logging
import secrets

from redis.asyncio import Redis

from adapters.outbound.memory.signals import LocalJobSignals
from adapters.outbound.redis.subscription import ChannelListener

log = logging.getLogger("vedfolnir.redis")


class RedisJobSignals:
    """The JobSignals port across nodes. A wake lost while Redis is down only delays the runner to its wait timeout."""

    def __init__(self, redis: Redis, channel: str = "vrt:jobs") -> None:
        self._redis = redis
        self._channel = channel
        # Tags this instance's messages: its own wake-ups come back from the channel, and were already
        # delivered locally; delivered again, late, they would end a wait armed after them.
        self._origin = secrets.token_hex(8)
        self._local = LocalJobSignals()
        self._publishing: set[asyncio.Task[None]] = set()
        self._listener = ChannelListener(redis, channel, self._on_message)

    @property
    def healthy(self) -> bool:
        return self._listener.healthy

    async def start(self) -> None:
        await self._listener.start()

    async def stop(self) -> None:
        await self._listener.stop()
        pending = set(self._publishing)
        if pending:
            _, late = await asyncio.wait(pending, timeout=1.0)
            for task in late:
                task.cancel()

    def arm(self, job_id: str) -> None:
        self._local.arm(job_id)

    def wake(self, job_id: str) -> None:
        self._local.wake(job_id)
        try:
            task = asyncio.get_running_loop().create_task(self._publish(job_id))
        except RuntimeError:
            log.warning("job %s woken outside an event loop: other nodes not told", job_id)
            return
        self._publishing.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self._publishing.discard)

    async def wait(self, job_id: str, at_most: float) -> None:
        await self._local.wait(job_id, at_most)

    def forget(self, job_id: str) -> None:
        self._local.forget(job_id)

    async def _publish(self, job_id: str) -> None:
        try:
            await self._redis.publish(self._channel, f"{self._origin} {job_id}")
        except Exception as exc:
            log.warning("could not publish the wake-up of job %s: %s: %s", job_id, type(exc).__name__, exc)

    async def _on_message(self, data: bytes | str) -> None:
        text = data.decode() if isinstance(data, bytes) else data
        origin, _, job_id = text.rpartition(" ")
        if origin != self._origin:
            self._local.wake(job_id)
