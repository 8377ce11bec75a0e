"""Recoverable connection states on Redis, so a client recovers on any node, even after its own node died.

One hash per private id: `holder` (the physical connection that may park or drop it) and `state`.
Live states expire unless their node refreshes them, so the states of a killed node outlive it by
about one window and then vanish; a parked state lives exactly one window.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from application.ports import RecoveryState

IF_HOLDER_KEEP = """
if redis.call('HGET', KEYS[1], 'holder') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'state', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
"""

IF_HOLDER_DROP = """
if redis.call('HGET', KEYS[1], 'holder') == ARGV[1] then redis.call('DEL', KEYS[1]) end
"""

TAKE = """
local state = redis.call('HGET', KEYS[1], 'state')
redis.call('DEL', KEYS[1])
return state
"""


class Breaker:
    """After a Redis failure, callers skip Redis for `pause` seconds instead of waiting on its timeouts each time."""

    def __init__(self, pause: float = 5.0) -> None:
        self._pause = pause
        self._until = 0.0

    @property
    def open(self) -> bool:
        return time.monotonic() < self._until

    def tripped(self) -> None:
        self._until = time.monotonic() + self._pause


class RedisUnavailable(RedisError):
    """Redis failed moments ago: not tried again yet."""


def _encode(state: RecoveryState) -> bytes:
    return orjson.dumps(
        {
            "pid": state.pid,
            "sid": state.sid,
            "namespace": state.namespace,
            "session_id": state.session_id,
            "user_id": state.user_id,
            "joined": state.joined,
            "start": state.start,
            "epoch": state.epoch,
            "holder": state.holder,
        }
    )


def _decode(raw: Any) -> RecoveryState | None:
    try:
        fields = orjson.loads(raw)
        return RecoveryState(
            pid=str(fields["pid"]),
            sid=str(fields["sid"]),
            namespace=str(fields["namespace"]),
            session_id=str(fields["session_id"]),
            user_id=int(fields["user_id"]),
            joined=tuple((str(room), int(at)) for room, at in fields["joined"]),
            start=int(fields["start"]),
            epoch=str(fields["epoch"]),
            holder=str(fields["holder"]),
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        return None


class RedisRecoveryStates:
    def __init__(self, redis: Redis, prefix: str, live_seconds: float) -> None:
        self._redis = redis
        self._prefix = prefix
        self._live_ms = int(live_seconds * 1000)
        self._keep = redis.register_script(IF_HOLDER_KEEP)
        self._drop = redis.register_script(IF_HOLDER_DROP)
        self._take = redis.register_script(TAKE)
        self._breaker = Breaker()

    async def _run(self, call: Callable[[], Awaitable[Any]]) -> Any:
        if self._breaker.open:  # the call is never made, so no coroutine is left un-awaited
            raise RedisUnavailable("Redis failed moments ago")
        try:
            return await call()
        except RedisError:
            self._breaker.tripped()
            raise

    def _key(self, pid: str) -> str:
        return self._prefix + pid

    async def save(self, state: RecoveryState) -> None:
        key = self._key(state.pid)
        pipe = self._redis.pipeline(transaction=True)
        pipe.hset(key, mapping={"holder": state.holder, "state": _encode(state)})
        pipe.pexpire(key, self._live_ms)
        await self._run(pipe.execute)

    async def park(self, state: RecoveryState, window: float) -> None:
        key, holder, encoded, ms = self._key(state.pid), state.holder, _encode(state), int(window * 1000)
        await self._run(lambda: self._keep(keys=[key], args=[holder, encoded, ms]))

    async def take(self, pid: str) -> RecoveryState | None:
        raw = await self._run(lambda: self._take(keys=[self._key(pid)]))
        return None if raw is None else _decode(raw)

    async def drop(self, state: RecoveryState) -> None:
        await self._run(lambda: self._drop(keys=[self._key(state.pid)], args=[state.holder]))

    async def refresh(self, states: list[RecoveryState]) -> None:
        pipe = self._redis.pipeline(transaction=False)
        for state in states:
            pipe.pexpire(self._key(state.pid), self._live_ms)
        await self._run(pipe.execute)
