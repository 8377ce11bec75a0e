"""The Socket.IO Redis manager with direct local delivery and a listener that heals itself and reports its state."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncGenerator
from typing import Any

import socketio  # type: ignore[import-untyped]
from redis.asyncio import Redis
from socketio.packet import Packet  # type: ignore[import-untyped]

from adapters.inbound.socketio.local_manager import deliver_locally
from adapters.outbound.redis.client import client_options
from adapters.outbound.redis.subscription import SubscriptionState, channel_messages
from adapters.stopping import finish_within, stop_tasks


class DirectRedisManager(socketio.AsyncRedisManager):  # type: ignore[misc]  # socketio is untyped
    """AsyncRedisManager whose deliveries to this node's sockets, local or from another node, skip the task per recipient.

    Both paths meet in `_handle_emit`: `emit` calls it for this node before publishing, and the
    listener calls it for other nodes' messages. Emits with a callback keep the stock path.
    The stock listener is replaced: it can hang silently on a dead connection (python-socketio #281,
    #826, #889); this one pings, re-subscribes with backoff, and exposes `listening`.
    """

    redis: Redis | None

    def __init__(
        self,
        url: str = "redis://localhost:6379/0",
        channel: str = "socketio",
        write_only: bool = False,
        logger: Any = None,
        json: Any = None,
        redis_options: dict[str, Any] | None = None,
        *,
        ping_every: float = 5.0,
    ) -> None:
        super().__init__(
            url=url,
            channel=channel,
            write_only=write_only,
            logger=logger,
            json=json,
            redis_options=client_options() if redis_options is None else redis_options,
        )
        self._ping_every = ping_every
        self._listener = SubscriptionState()

    @property
    def listening(self) -> bool:
        """True while the listener is subscribed and its pings are answered; always False when write-only."""
        return self._listener.healthy

    async def close(self) -> None:
        """Stops the listener and closes the client: python-socketio's shutdown leaves both running."""
        listener = getattr(self, "thread", None)
        if listener is not None:
            await stop_tasks([listener], "redis manager listener")
        if self.redis is not None:
            await finish_within(self.redis.aclose(), "closing the redis manager's client", seconds=3.0)
            self.redis, self.connected = None, False

    def _redis_connect(self) -> None:
        # The stock method builds a new client (and pool) on every publish failure and never closes
        # the old one; the pool reconnects by itself, so one client per manager is enough.
        if self.redis is None:
            super()._redis_connect()
        self.connected = True

    async def _listen(self) -> AsyncGenerator[bytes | str, None]:
        self._redis_connect()
        assert self.redis is not None
        messages = channel_messages(self.redis, self.channel, self._listener, ping_every=self._ping_every)
        async with contextlib.aclosing(messages):
            async for data in messages:
                yield data

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str | None = None,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> Any:
        if kwargs.get("ignore_queue") and callback is None:
            await deliver_locally(self, event, data, namespace, to or room, skip_sid)
            return None
        return await super().emit(event, data, namespace, room, skip_sid, callback, to, **kwargs)

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        if message.get("callback") is not None:
            await super()._handle_emit(message)
            return
        data = message["data"]
        if message.get("binary"):
            attachments = [base64.b64decode(a) for a in data[1:]]
            data = Packet.reconstruct_binary(data[0], attachments)
        if isinstance(data, list):
            data = data[0] if len(data) == 1 else tuple(data)
        await deliver_locally(
            self, message["event"], data, message.get("namespace"), message.get("room"), message.get("skip_sid")
        )
