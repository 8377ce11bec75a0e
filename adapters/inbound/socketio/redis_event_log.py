"""The fleet's event log on Redis Streams: one position sequence and epoch, a stream per room, one stream of all.

Publishing is one script: it numbers the event, appends it to its rooms' streams and to the stream of
all events, and publishes it on the log channel, atomically, so every node receives events in
position order. Nodes deliver replayable events only as they come back from that channel (their own
included), so each socket receives them in position order and an offset means "everything up to here".
A node that re-subscribes reads what it missed from the stream of all events. The epoch changes when
Redis lost the log (a flush, a restart without persistence): states and offsets of an older epoch are void.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import orjson
import socketio  # type: ignore[import-untyped]
from redis.asyncio import Redis

from adapters.inbound.socketio.logged_delivery import deliver_encoded, rooms_of
from adapters.outbound.event_log import Entry, LocalEventLog
from adapters.outbound.redis.recovery import Breaker
from adapters.outbound.redis.subscription import ChannelListener

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
        self.lost = 0  # events this node could not read back after a subscription gap

    async def start(self) -> None:
        if self._listener is not None:
            await self._listener.start()

    async def stop(self) -> None:
        if self._listener is not None:
            await self._listener.stop()

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
        try:
            await self._script(
                keys=[self._clock_key],
                args=[
                    self.channel,
                    self._epoch_candidate,
                    self._per_room,
                    self._total,
                    self._ttl_ms,
                    namespace,
                    head,
                    '"]',
                    *rooms,
                ],
            )
        except Exception as exc:
            # Redis is unreachable: deliver anyway, unnumbered (a client that drops now cannot recover it).
            self._breaker.tripped()
            log.warning("event log unavailable (%s): events go out without offsets for a while", type(exc).__name__)
            await self._manager.emit(event, payload, namespace=namespace, room=room)

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
