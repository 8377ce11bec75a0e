"""The fleet's event log on Redis Streams: one position sequence and epoch, a stream per room, one stream of all.

Publishing is one script: it numbers the event, appends it to its rooms' streams and to the stream of
all events, and publishes it on the log channel, atomically, so every node receives events in
position order. Nodes deliver replayable events only as they come back from that channel (their own
included), so each socket receives them in position order and an offset means "everything up to here".
Events published while one is on its way follow it together, in one pipeline, in the order published.
A node that re-subscribes reads what it missed from the stream of all events. The epoch changes when
Redis lost the log (a flush, a restart without persistence): states and offsets of an older epoch are void.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

import orjson
import socketio  # type: ignore[import-untyped]
from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from adapters.inbound.socketio.logged_delivery import deliver_encoded, rooms_of
from adapters.outbound.event_log import Entry, LocalEventLog
from adapters.outbound.redis.recovery import Breaker
from adapters.outbound.redis.subscription import ChannelListener
from adapters.stopping import stop_tasks

log = logging.getLogger("vedfolnir.recovery")

PUBLISH = """
local clock = KEYS[1]
local epoch = redis.call('HGET', clock, 'epoch')
if not epoch then
  local now = redis.call('TIME')
  epoch = ARGV[2] .. '.' .. now[1] .. now[2]
  redis.call('HSET', clock, 'epoch', epoch, 'seq', 0)
end
local seq = redis.call('HINCRBY', clock, 'seq', 1)
local id = seq .. '-0'
local packet = ARGV[7] .. seq .. ARGV[8]
local base = clock .. ':' .. epoch .. ':'
local rooms = {}
for i = 9, #ARGV do
  local key = base .. ARGV[6] .. ':' .. ARGV[i]
  redis.call('XADD', key, 'MAXLEN', '~', ARGV[3], id, 'p', packet)
  redis.call('PEXPIRE', key, ARGV[5])
  rooms[#rooms + 1] = ARGV[i]
end
local all = base .. 'all'
local encoded_rooms = cjson.encode(rooms)
redis.call('XADD', all, 'MAXLEN', '~', ARGV[4], id, 'n', ARGV[6], 'r', encoded_rooms, 'p', packet)
redis.call('PEXPIRE', all, ARGV[5])
redis.call('PUBLISH', ARGV[1], epoch .. ' ' .. seq .. ' ' .. ARGV[6] .. ' ' .. encoded_rooms .. ' ' .. packet)
return seq
"""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _seq(entry_id: Any) -> int:
    return int(_text(entry_id).split("-", 1)[0])


def _trimmed_after(info: dict[str, Any], lower: int) -> bool:
    """Whether trimming may have removed an entry after `lower` (Redis 7 does not record trimmed ids).

    Trimming removes the oldest entries, so every trimmed one precedes the first entry left: none
    can be after `lower` when that first entry is at most `lower + 1` or nothing was trimmed.
    """
    trimmed = int(info.get("entries-added", 0)) - int(info.get("length", 0))
    first = info.get("recorded-first-entry-id") or (info.get("first-entry") or ("0-0",))[0]
    return trimmed > 0 and _seq(first) > lower + 1


class RedisLoggedEmitter:
    """Publishes replayable events through the shared log; delivers what the log channel brings to this node.

    `log` is this node's recent view of the shared log (None in a worker, which serves no sockets).
    """

    def __init__(
        self,
        redis: Redis,
        manager: socketio.AsyncManager,
        log: LocalEventLog | None,
        key: str,
        *,
        per_room: int,
        total: int,
        window: float,
    ) -> None:
        self._redis = redis
        self._manager = manager
        self.log = log
        self._clock_key = key
        self.channel = f"{key}:events"
        self._per_room = per_room
        self._total = total
        self._ttl_ms = int((2 * window + 60) * 1000)
        self._epoch_candidate = os.urandom(6).hex()
        self._script = redis.register_script(PUBLISH)
        self._listener = (
            ChannelListener(redis, self.channel, self.on_message, on_subscribed=self.catch_up)
            if log is not None
            else None
        )
        self._ready = False
        self._breaker = Breaker()
        self._waiting: list[tuple[list[Any], asyncio.Future[bool]]] = []
        self._sender: asyncio.Task[None] | None = None
        self.lost = 0  # events this node could not read back after a subscription gap

    async def start(self) -> None:
        if self._listener is not None:
            await self._listener.start()

    async def stop(self) -> None:
        if self._listener is not None:
            await self._listener.stop()
        await stop_tasks([self._sender], "event log publisher")
        for _, future in self._waiting:
            future.cancel()
        self._waiting = []

    @property
    def healthy(self) -> bool:
        return self._listener is not None and self._listener.healthy

    @property
    def newest(self) -> int:
        return self.log.position if self.log is not None else 0

    async def emit_logged(self, event: str, payload: Any, namespace: str, room: str | list[str]) -> None:
        rooms = rooms_of(room)
        prefix = "2" if namespace == "/" else f"2{namespace},"
        head = prefix + orjson.dumps([event, payload]).decode()[:-1] + ',"'
        if self._breaker.open:
            await self._manager.emit(event, payload, namespace=namespace, room=room)
            return
        args = [self.channel, self._epoch_candidate, self._per_room, self._total, self._ttl_ms, namespace, head, '"]']
        if not await self._publish([*args, *rooms]):
            # Redis is unreachable: deliver anyway, unnumbered (a client that drops now cannot recover it).
            await self._manager.emit(event, payload, namespace=namespace, room=room)

    async def _publish(self, args: list[Any]) -> bool:
        """Runs the log script for one event; False if Redis failed. Events that come while earlier ones are
        on their way wait for them and then go together in one pipeline: one round trip for the burst, and
        Redis publishes them back to back, so each node delivers them in fewer loop turns (fewer writes)."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((args, future))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(self._send_waiting(), name="event-log-publish")
        return await future

    async def _send_waiting(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            results: list[Any]
            try:
                results = await self._run_scripts([args for args, _ in batch])
            except Exception as exc:
                results = [exc] * len(batch)
            except BaseException:  # stopped: the callers of this batch stop waiting too
                for _, future in batch:
                    future.cancel()
                raise
            failed = next((r for r in results if isinstance(r, Exception)), None)
            if failed is not None:
                self._breaker.tripped()
                log.warning(
                    "event log unavailable (%s): events go out without offsets for a while", type(failed).__name__
                )
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(not isinstance(result, Exception))

    async def _run_scripts(self, batch: list[list[Any]]) -> list[Any]:
        """Each event's script result, or the exception it raised."""
        keys = [self._clock_key]
        if len(batch) == 1:
            return [await self._script(keys=keys, args=batch[0])]
        pipe = self._redis.pipeline(transaction=False)
        for args in batch:
            pipe.evalsha(self._script.sha, 1, *keys, *args)
        results: list[Any] = await pipe.execute(raise_on_error=False)
        for i, result in enumerate(results):
            if isinstance(result, NoScriptError):  # Redis lost its scripts: the script object loads it again
                try:
                    results[i] = await self._script(keys=keys, args=batch[i])
                except Exception as exc:
                    results[i] = exc
        return results

    async def on_message(self, data: bytes | str) -> None:
        local = self.log
        if local is None:
            return
        epoch, seq_text, namespace, rooms_json, packet = _text(data).split(" ", 4)
        seq = int(seq_text)
        if epoch != local.epoch or not self._ready:
            await self.catch_up()
        elif seq > local.position + 1:
            await self.catch_up()  # a message was lost on the way: the stream of all events has it
        if seq <= local.position:
            return
        rooms = orjson.loads(rooms_json)
        local.append(seq, namespace, rooms, packet, time.time())
        deliver_encoded(self._manager, namespace, rooms, packet)

    async def catch_up(self) -> None:
        """Delivers what this node missed since its last position (all of it, or restarts its view)."""
        local = self.log
        if local is None:
            return
        # The epoch exists before any event, so states issued before the first event stay valid.
        fresh = f"{self._epoch_candidate}.{os.urandom(4).hex()}"
        await self._redis.hsetnx(self._clock_key, "epoch", fresh)  # type: ignore[misc]
        clock = await self._redis.hgetall(self._clock_key)  # type: ignore[misc]
        epoch = _text(clock[b"epoch"])
        newest = int(clock.get(b"seq", 0))
        if not self._ready:  # this node starts: nothing sent before concerns it
            local.restart(epoch, newest)
            self._ready = True
            return
        if epoch != local.epoch:
            log.warning("the shared event log was reset (new epoch): earlier offsets are void")
            local.restart(epoch, 0)
        if newest <= local.position:
            return
        entries = await self._redis.xrange(f"{self._clock_key}:{epoch}:all", min=f"{local.position + 1}-0")
        if not entries or _seq(entries[0][0]) != local.position + 1:
            self.lost += newest - local.position
            log.warning(
                "%d events were trimmed from the shared log before this node read them", newest - local.position
            )
            local.restart(epoch, newest)
            return
        now = time.time()
        for entry_id, fields in entries:
            seq = _seq(entry_id)
            if seq != local.position + 1 or fields is None:
                break
            namespace, packet = _text(fields[b"n"]), _text(fields[b"p"])
            rooms = orjson.loads(fields[b"r"])
            local.append(seq, namespace, rooms, packet, now)
            deliver_encoded(self._manager, namespace, rooms, packet)

    async def durable_since(self, namespace: str, rooms: dict[str, int], after: int) -> list[Entry] | None:
        """Entries after `after` of any of `rooms` from the shared streams; None if any was trimmed."""
        if self.log is None:
            return None
        base = f"{self._clock_key}:{self.log.epoch}:{namespace}:"
        names = list(rooms)
        pipe = self._redis.pipeline(transaction=False)
        for room in names:
            lower = max(after, rooms[room])
            pipe.xinfo_stream(base + room)
            pipe.xrange(base + room, min=f"{lower + 1}-0")
        results = await pipe.execute(raise_on_error=False)
        found: dict[int, Entry] = {}
        for index, room in enumerate(names):
            info, entries = results[2 * index], results[2 * index + 1]
            lower = max(after, rooms[room])
            if isinstance(entries, Exception):
                raise entries
            if not isinstance(info, Exception) and _trimmed_after(info, lower):
                return None
            for entry_id, fields in entries:
                seq = _seq(entry_id)
                found[seq] = Entry(seq, 0.0, _text(fields[b"p"]))
        return [found[seq] for seq in sorted(found)]
