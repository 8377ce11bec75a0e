"""The teardown hang, on real Redis: a cancel that lands while redis-py's `wait_for` around a command's write
is finishing (Python 3.11 drops it, CPython gh-86296) no longer keeps a Redis listener or a periodic loop
running, so shutdown completes. CPU contention makes that one-iteration window likely; the hook below makes
the cancel land in it every time."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection

from adapters.inbound.periodic import every
from adapters.outbound.redis.client import redis_from_url
from adapters.outbound.redis.subscription import ChannelListener

pytestmark = pytest.mark.redis

URL = "redis://127.0.0.1:6379/0"


class CancelOnNextWrite:
    """Once armed, cancels `target` (or wakes the step waiting on `go`) right as a command's write finishes:
    it is queued before wait_for's own wake-up, which is the interleaving a loaded event loop produces."""

    def __init__(self) -> None:
        self.target: asyncio.Task[None] | None = None
        self.go: asyncio.Future[None] | None = None
        self.fired = asyncio.Event()

    def after_write(self) -> None:
        if self.go is not None and not self.go.done():
            self.go.set_result(None)
        if self.target is not None and not self.fired.is_set() and asyncio.current_task() is not self.target:
            asyncio.get_running_loop().call_soon(self.target.cancel)
            self.fired.set()


@pytest.fixture
def hook(monkeypatch: pytest.MonkeyPatch) -> Iterator[CancelOnNextWrite]:
    armed = CancelOnNextWrite()
    send = AbstractConnection._send_packed_command

    async def send_then_cancel(self: AbstractConnection, command: object) -> None:
        await send(self, command)  # type: ignore[arg-type]
        armed.after_write()  # runs in wait_for's inner task: the cancel is queued before its wake-up

    monkeypatch.setattr(AbstractConnection, "_send_packed_command", send_then_cancel)
    yield armed


async def _ended(task: asyncio.Task[None], within: float) -> bool:
    done, _ = await asyncio.wait([task], timeout=within)
    return bool(done)


async def test_a_redis_listener_stopped_mid_ping_stops(hook: CancelOnNextWrite) -> None:
    """The hang as seen: shutdown's own stop() runs in the window after a PING's write, its cancel is
    dropped, and stop() waited for ever on a listener that went on reading (state "cancelling")."""
    redis = redis_from_url(URL)
    listener = ChannelListener(redis, f"vrt-hang-{uuid.uuid4().hex[:8]}", _ignore, ping_every=0.05)
    try:
        await listener.start()
        assert listener.healthy
        go = hook.go = asyncio.get_running_loop().create_future()

        async def shutdown() -> None:
            await go  # made ready by the next write, before wait_for's own wake-up
            await listener.stop()

        stopping = asyncio.get_running_loop().create_task(shutdown())
        assert await _ended(stopping, 8.0), "stop() waited on a listener that swallowed its cancel"
        assert not listener.healthy
    finally:
        await redis.aclose()


async def test_a_periodic_loop_cancelled_mid_command_stops(hook: CancelOnNextWrite) -> None:
    redis: Redis = redis_from_url(URL)
    key = f"vrt-hang-{uuid.uuid4().hex[:8]}"
    try:

        async def renew() -> None:  # a lease renewal's shape: one Redis command per round
            await redis.set(key, "1", px=1000)

        task = asyncio.get_running_loop().create_task(every(0.01, renew, "renewal", at_start=True))
        hook.target = task
        await asyncio.wait_for(hook.fired.wait(), 5)
        assert await _ended(task, 5.0), "the loop swallowed its cancel and kept renewing"
        assert task.cancelled()
    finally:
        await redis.delete(key)
        await redis.aclose()


async def _ignore(_data: bytes | str) -> None:
    return None
