"""Each socket's outbound budget: a queue that refuses to grow past it, and the drop of a socket that will not read.

python-engineio gives every connection an unbounded `asyncio.Queue` and a writer that may block forever
on a TCP drain. A client that never reads would grow it without end. Our policy: a socket whose queue
holds more than `max_packets` packets or `max_chars` characters of encoded packets is a client that
does not read; it is dropped (TCP aborted, the engine socket closed, its queue freed) and counted as a
security event. Accounting is two integer updates per packet, no task, no allocation.
"""

from __future__ import annotations

import asyncio
import logging
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


class BudgetQueue(asyncio.Queue[Any]):
    """An engine socket's outgoing queue: past its budget it takes nothing more and drops its socket."""

    def __init__(self, limits: OutboundLimits, security: SecurityEvents | None) -> None:
        super().__init__()
        self.limits = limits
        self.security = security
        self.queued_chars = 0
        self.over = False
        self.owner: Any = None  # the engine socket, once known
        self.transport: asyncio.Transport | None = None  # its WebSocket's TCP transport, once upgraded

    def put_nowait(self, item: Any) -> None:
        if item is None:  # the writer's stop signal always goes through
            super().put_nowait(item)
            return
        if self.over:
            return
        size = _size(item)
        if self.qsize() >= self.limits.max_packets or self.queued_chars + size > self.limits.max_chars:
            self.drop("slow_consumer")
            return
        self.queued_chars += size
        super().put_nowait(item)

    def get_nowait(self) -> Any:
        item = super().get_nowait()
        if item is not None:
            self.queued_chars -= _size(item)
        return item

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
            super().get_nowait()
            self.task_done()
        self.queued_chars = 0
        super().put_nowait(None)


async def _close(sock: Any) -> None:
    """Closes an engine socket (its disconnect handlers run) and forgets it: a request that still names it
    gets the engine's "invalid session" answer, not the KeyError a closed-but-listed socket raises on POST."""
    await sock.close(wait=False, abort=True, reason=sock.server.reason.TRANSPORT_ERROR)
    if sock.server.sockets.get(sock.sid) is sock:
        del sock.server.sockets[sock.sid]
