"""User activity for admins sent after the connect or disconnect that caused it has been answered."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from application.outbox import Outbox
from domain import events

log = logging.getLogger("vedfolnir.activity")

MAX_PENDING = 10_000


class DeferredAdminActivity:
    """The AdminActivity port: announcements queue here and one task sends them, in order, off the connect path.

    A reconnect storm of thousands no longer stamps, encodes and (with Redis) publishes one admin
    event inside every connect: the connects are answered first, their announcements follow right
    after in one pass. The queue is bounded: past `max_pending` unsent announcements the newest are
    dropped and counted (`dropped`); a failed send is logged and the rest still go.
    """

    def __init__(self, outbox: Outbox, max_pending: int = MAX_PENDING) -> None:
        self._outbox = outbox
        self._max_pending = max_pending
        self._pending: list[dict[str, Any]] = []
        self._sender: asyncio.Task[None] | None = None
        self.dropped = 0

    def announce(self, payload: dict[str, Any]) -> None:
        if len(self._pending) >= self._max_pending:
            self.dropped += 1
            return
        self._pending.append(payload)
        if self._sender is None:
            self._sender = asyncio.get_running_loop().create_task(self._send())

    async def _send(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                for payload in batch:
                    try:
                        await self._outbox.to_admins(events.USER_ACTIVITY_UPDATE, payload)
                    except Exception:
                        log.exception("a user activity announcement could not be sent")
        finally:
            self._sender = None
