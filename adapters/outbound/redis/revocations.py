"""Session revocations broadcast to every node, so each ends its own sockets of a revoked session at once."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

from adapters.outbound.redis.subscription import ChannelListener

log = logging.getLogger("vedfolnir.redis")


class RedisRevocationBus:
    """Publishes revoked session ids; calls `on_revoked` for every batch from any node, this one included.

    Batches published while a node is not subscribed never reach it: its periodic session sweep must
    still find dead sessions on its own.
    """

    def __init__(
        self,
        redis: Redis,
        channel: str = "vrt:revoked",
        *,
        on_revoked: Callable[[set[str]], Awaitable[None]],
    ) -> None:
        self._redis = redis
        self._channel = channel
        self._on_revoked = on_revoked
        self._listener = ChannelListener(redis, channel, self._on_message)

    @property
    def healthy(self) -> bool:
        return self._listener.healthy

    async def start(self) -> None:
        await self._listener.start()

    async def stop(self) -> None:
        await self._listener.stop()

    async def publish(self, session_ids: set[str]) -> None:
        """Raises redis.exceptions.RedisError if Redis cannot be reached (after the client's retries)."""
        if session_ids:
            await self._redis.publish(self._channel, json.dumps(sorted(session_ids)))

    async def _on_message(self, data: bytes | str) -> None:
        try:
            decoded = json.loads(data)
        except ValueError:
            decoded = None
        if not isinstance(decoded, list) or not all(isinstance(s, str) for s in decoded):
            log.warning("ignored a malformed revocation message on %s", self._channel)
            return
        if decoded:
            await self._on_revoked(set(decoded))
