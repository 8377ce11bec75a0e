"""Each socket's outbound budget: a queue that refuses to grow past it, and the drop of a socket that will not read.

python-engineio gives every connection an unbounded `asyncio.Queue` and a writer that may block forever
on a TCP drain. A client that never reads would grow it without end. Our policy: a socket whose queue
holds more than `max_packets` packets or `max_chars` characters of encoded packets is a client that
does not read; it is dropped (TCP aborted, the engine socket closed, its queue freed) and counted as a
security event. Accounting is two integer updates per packet, no task, no allocation.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import dataclass
from typing import Any

from application.security import SecurityEvents

log = logging.getLogger("vedfolnir.socket")


@dataclass(frozen=True, slots=True)
class OutboundLimits:
    max_packets: int = 1000
    max_chars: int = 1024 * 1024
    write_timeout: float = 10.0


def _size(pkt: Any) -> int:
    data = pkt.data
    return len(data) if isinstance(data, str | bytes) else 64


class BudgetQueue:
    """An engine socket's outgoing queue: past its budget it takes nothing more and drops its socket.

    It offers what python-engineio and our writer use of `asyncio.Queue` (put, get, their `_nowait` forms,
    empty, qsize, task_done, join) and holds memory only while something is queued: an idle connection's
    `asyncio.Queue` keeps four empty deques (its items, getters, putters and join event: about 3 KiB),
    here the deque exists while packets wait and a getter while the writer waits. Unbounded by size as
    upstream's is (maxsize 0: put never waits); the budget bounds it instead.
    """

    __slots__ = (
        "_finished",
        "_getters",
        "_items",
        "_unfinished",
        "limits",
        "over",
        "owner",
        "queued_chars",
        "security",
        "transport",
    )
    maxsize = 0

    def __init__(self, limits: OutboundLimits, security: SecurityEvents | None) -> None:
        self.limits = limits
        self.security = security
        self.queued_chars = 0
        self.over = False
        self.owner: Any = None  # the engine socket, once known
        self.transport: asyncio.Transport | None = None  # its WebSocket's TCP transport, once upgraded
        self._items: deque[Any] | None = None  # None while empty
        self._getters: list[asyncio.Future[None]] | None = None
        self._unfinished = 0  # put and not yet task_done, as asyncio.Queue counts for join()
        self._finished: asyncio.Event | None = None  # only once someone joins

    def qsize(self) -> int:
        items = self._items
        return 0 if items is None else len(items)

    def empty(self) -> bool:
        return not self._items

    def full(self) -> bool:
        return False

    def put_nowait(self, item: Any) -> None:
        if item is None:  # the writer's stop signal always goes through
            self._append(item)
            return
        if self.over:
            return
        size = _size(item)
        if self.qsize() >= self.limits.max_packets or self.queued_chars + size > self.limits.max_chars:
            self.drop("slow_consumer")
            return
        self.queued_chars += size
        self._append(item)

    async def put(self, item: Any) -> None:
        self.put_nowait(item)

    def get_nowait(self) -> Any:
        items = self._items
        if not items:
            raise asyncio.QueueEmpty
        item = items.popleft()
        if not items:
            self._items = None  # an idle socket keeps no deque
        if item is not None:
            self.queued_chars -= _size(item)
        return item

    async def get(self) -> Any:
        """asyncio.Queue.get: waits for an item; a getter cancelled after being woken passes the wake-up on."""
        while not self._items:
            getter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            if self._getters is None:
                self._getters = []
            self._getters.append(getter)
            try:
                await getter
            except BaseException:
                getter.cancel()
                with contextlib.suppress(ValueError):
                    self._getters.remove(getter)
                if self._items and not getter.cancelled():
                    self._wake_getter()
                raise
        return self.get_nowait()

    def task_done(self) -> None:
        if self._unfinished <= 0:
            raise ValueError("task_done() called too many times")
        self._unfinished -= 1
        if self._unfinished == 0 and self._finished is not None:
            self._finished.set()

    async def join(self) -> None:
        if self._unfinished == 0:
            return
        if self._finished is None:
            self._finished = asyncio.Event()
        await self._finished.wait()

    def _append(self, item: Any) -> None:
        if self._items is None:
            self._items = deque()
        self._items.append(item)
        self._unfinished += 1
        if self._finished is not None:
            self._finished.clear()
        if self._getters:
            self._wake_getter()

    def _wake_getter(self) -> None:
        getters = self._getters
        while getters:
            getter = getters.pop(0)
            if not getter.done():
                getter.set_result(None)
                return

    def drop(self, kind: str) -> None:
        """Ends the socket now: no more packets, TCP aborted, the engine socket closed (its handlers run)."""
        if self.over:
            return
        self.over = True
        if self.security is not None:
            owner = self.owner
            self.security.record(
                kind,
                queued_packets=self.qsize(),
                queued_chars=self.queued_chars,
                transport="websocket" if self.transport is not None else "polling",
                eio_sid=getattr(owner, "sid", None),
            )
        self._free()
        if self.transport is not None:
            self.transport.abort()
        owner = self.owner
        if owner is not None and not owner.closing and not owner.closed:
            asyncio.get_running_loop().create_task(_close(owner))

    def _free(self) -> None:
        """Empties the queue now, keeping join() consistent, and leaves the writer's stop signal."""
        while not self.empty():
            self.get_nowait()
            self.task_done()
        self.queued_chars = 0
        self._append(None)


async def _close(sock: Any) -> None:
    """Closes an engine socket (its disconnect handlers run) and forgets it: a request that still names it
    gets the engine's "invalid session" answer, not the KeyError a closed-but-listed socket raises on POST."""
    await sock.close(wait=False, abort=True, reason=sock.server.reason.TRANSPORT_ERROR)
    if sock.server.sockets.get(sock.sid) is sock:
        del sock.server.sockets[sock.sid]
