"""A self-healing subscription to one Redis channel: it re-subscribes after any failure and says whether it is live."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError

from adapters.stopping import raise_if_cancelled, stop_tasks

log = logging.getLogger("vedfolnir.redis")

MIN_BACKOFF = 0.1
MAX_BACKOFF = 5.0


class SubscriptionState:
    """`healthy` is True while subscribed and answering pings; flips to False on any failure."""

    def __init__(self) -> None:
        self.healthy = False
        self.failures = 0
        self.subscribed_once = asyncio.Event()


async def channel_messages(
    redis: Redis,
    channel: str,
    state: SubscriptionState,
    *,
    ping_every: float = 5.0,
    on_subscribed: Callable[[], Awaitable[None]] | None = None,
) -> AsyncGenerator[bytes | str, None]:
    """Yields each message's data forever, re-subscribing with backoff; messages sent while down are lost.

    `on_subscribed` runs after each (re)subscription, before the messages that arrived since are read:
    where the sender also logged its messages, it reads what was missed while down.
    """
    backoff = MIN_BACKOFF
    while True:
        raise_if_cancelled()  # a cancel swallowed inside redis-py (see adapters/stopping.py) still ends the loop
        pubsub = redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(channel)
            if on_subscribed is not None:
                await on_subscribed()
            if state.failures:
                log.info("re-subscribed to %s", channel)
            state.healthy = True
            state.subscribed_once.set()
            backoff = MIN_BACKOFF
            async with contextlib.aclosing(_read(pubsub, ping_every)) as received:
                async for data in received:
                    yield data
        except Exception as exc:
            state.failures += 1
            log.warning(
                "subscription to %s failed (%s: %s); retrying in %.1fs", channel, type(exc).__name__, exc, backoff
            )
        finally:
            state.healthy = False
            with contextlib.suppress(Exception):
                # Bounded: it takes the pubsub's lock and closes a socket that may be dead.
                async with asyncio.timeout(2.0):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
        state.subscribed_once.set()  # the first attempt is over, even if it failed
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, MAX_BACKOFF)


async def _read(pubsub: PubSub, ping_every: float) -> AsyncGenerator[bytes | str, None]:
    # A connection can die without an error (a dropped route, a hung server): our own pings must come
    # back, or the subscription is declared dead and rebuilt.
    loop = asyncio.get_running_loop()
    last_ping = last_seen = loop.time()
    while True:
        raise_if_cancelled()
        message: dict[str, Any] | None = await pubsub.get_message(timeout=min(1.0, ping_every))
        now = loop.time()
        if message is not None:
            last_seen = now
            if message["type"] == "message":
                yield message["data"]
        if now - last_ping >= ping_every:
            await pubsub.ping()
            last_ping = now
        if now - last_seen > 3 * ping_every:
            raise RedisConnectionError(f"no answer to pings for {now - last_seen:.1f}s")


class ChannelListener:
    """Runs a subscription in a task and hands each message to `on_message`; a failing handler is logged."""

    def __init__(
        self,
        redis: Redis,
        channel: str,
        on_message: Callable[[bytes | str], Awaitable[None]],
        *,
        ping_every: float = 5.0,
        on_subscribed: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._redis = redis
        self._channel = channel
        self._on_message = on_message
        self._ping_every = ping_every
        self._on_subscribed = on_subscribed
        self._state = SubscriptionState()
        self._task: asyncio.Task[None] | None = None

    @property
    def healthy(self) -> bool:
        return self._state.healthy

    async def start(self, first_attempt_timeout: float = 5.0) -> None:
        """Starts listening; returns once the first subscription attempt is over (or after the timeout)."""
        if self._task is not None:
            return
        self._task = asyncio.create_task(self._run(), name=f"redis-listener:{self._channel}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._state.subscribed_once.wait(), first_attempt_timeout)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        await stop_tasks([task], f"redis listener {self._channel}")

    async def _run(self) -> None:
        messages = channel_messages(
            self._redis, self._channel, self._state, ping_every=self._ping_every, on_subscribed=self._on_subscribed
        )
        async with contextlib.aclosing(messages):
            async for data in messages:
                try:
                    await self._on_message(data)
                except Exception:
                    log.exception("handler of a message on %s failed", self._channel)
