"""A serving node's graceful exit on SIGTERM: readyz 503, stop accepting, finish, hand jobs back, send clients away."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from aiohttp import web

from domain.health import ComponentHealth, Health

log = logging.getLogger("vedfolnir.drain")
RECONNECT_BATCH = 50


class Drain:
    """The steps, in order, all within `drain_seconds`:

    1. readyz answers 503 (this object is one of its probes) so a balancer stops sending new clients;
    2. after `readiness_seconds`, the listening socket closes: no new connections;
    3. client events being handled finish (each socket's events run one at a time on its read loop);
    4. caption jobs running here stop and are handed back: with Redis their claims are released at once, so
       another node (RUN_JOBS=inline) or worker continues with the first post not done; a node without
       Redis is a fleet of one, and its jobs resume when it next starts;
    5. every client is told to reconnect: its transport is closed without a Socket.IO disconnect, which
       the stock client answers by reconnecting (through the balancer, to another node, where it recovers);
    6. the caller then cleans the application up (HTTP requests get the time that is left).
    """

    component = "node"

    def __init__(
        self,
        sio: Any,
        in_flight: Callable[[], int],
        stop_jobs: Callable[[], Awaitable[None]],
        *,
        readiness_seconds: float,
        drain_seconds: float,
        metrics: Any = None,
    ) -> None:
        self._sio = sio
        self._in_flight = in_flight
        self._stop_jobs = stop_jobs
        self.readiness_seconds = readiness_seconds
        self.drain_seconds = drain_seconds
        self._metrics = metrics
        self.active = False
        self.deadline = 0.0

    async def check(self) -> ComponentHealth:
        if self.active:
            return ComponentHealth(self.component, Health.UNHEALTHY, "draining: this node is about to exit")
        return ComponentHealth(self.component, Health.HEALTHY)

    def remaining(self) -> float:
        return max(0.0, self.deadline - asyncio.get_running_loop().time())

    async def __call__(self, stop_listening: Callable[[], Awaitable[None]]) -> None:
        loop = asyncio.get_running_loop()
        self.deadline = loop.time() + self.drain_seconds
        self.active = True
        if self._metrics is not None:
            self._metrics.draining.set(1)
        sockets = self._sio.eio.sockets
        log.info(
            "draining: readyz answers 503; %d connections; exiting within %.1f s",
            len(_open(sockets)),
            self.drain_seconds,
        )
        await asyncio.sleep(min(self.readiness_seconds, self.remaining()))
        await stop_listening()
        log.info("draining: no longer accepting connections")
        await self._until(lambda: self._in_flight() == 0, "client events in flight")
        try:
            await asyncio.wait_for(self._stop_jobs(), timeout=max(self.remaining(), 0.1))
        except Exception:
            log.exception("draining: stopping the running jobs failed")
        told: set[int] = set()
        # In batches: each connection's disconnect handling (slot release, recovery parking) takes a Redis
        # connection, and 200 at once overflow redis-py's pool of 100 (seen: recovery states not parked).
        while self.remaining() > 0:
            batch = [sock for sock in _open(sockets) if id(sock) not in told][:RECONNECT_BATCH]
            if not batch:
                break
            told.update(id(sock) for sock in batch)
            tell_clients_to_reconnect(batch, self._sio)
            await self._until(partial(_all_closed, batch), "a batch to close", 1.0)
        log.info("draining: told %d connections to reconnect elsewhere", len(told))
        await self._until(lambda: not _open(sockets), "connections to close")
        log.info("draining: done, %d connections left", len(_open(sockets)))

    async def _until(self, done: Callable[[], bool], what: str, at_most: float | None = None) -> None:
        loop = asyncio.get_running_loop()
        give_up = loop.time() + (at_most if at_most is not None else self.remaining())
        while not done():
            if self.remaining() <= 0 or loop.time() >= give_up:
                if at_most is None:
                    log.warning("draining: time is up waiting for %s", what)
                return
            await asyncio.sleep(0.02)


def _open(sockets: dict[str, Any]) -> list[Any]:
    """The engine's sockets not yet closed. `closed` is set once a socket's disconnect handling has run; the engine
    drops closed sockets from its table only on a sweep up to a ping timeout later, which the drain must not wait out."""
    return [sock for sock in list(sockets.values()) if not sock.closed]


def _all_closed(batch: list[Any]) -> bool:
    return all(sock.closed for sock in batch)


def tell_clients_to_reconnect(batch: list[Any], sio: Any) -> int:
    """Ends every Engine.IO connection the way a restart would: no CLOSE packet, no Socket.IO disconnect.

    A WebSocket's writer gets its stop signal and closes the socket; a long-polling session is closed,
    its pending poll answered, and its next request refused. Both clients (the stock JS client and
    python-socketio) see a transport close and reconnect; a Socket.IO DISCONNECT or an Engine.IO CLOSE
    would tell them to stay away.
    """
    told = 0
    for sock in batch:
        if sock.closed:
            continue
        told += 1
        if not sock.upgraded:  # closed without a CLOSE packet: its next poll is answered 400
            sio.eio.start_background_task(sock.close, wait=False, abort=True)
        sock.queue.put_nowait(None)  # ends the WebSocket writer (which closes it) or the pending long-poll
    return told


DRAIN_KEY = web.AppKey("vedfolnir_drain", Drain)
