"""Replayable events: numbered, logged, and delivered to this node's sockets with their offset, encoded once."""

from __future__ import annotations

import time
from typing import Any

import socketio  # type: ignore[import-untyped]
from engineio import packet as eio_packet  # type: ignore[import-untyped]

from adapters.outbound.event_log import Entry, LocalEventLog, encode_logged


def deliver_encoded(manager: socketio.AsyncManager, namespace: str, room: str | list[str], text: str) -> None:
    """Queues one already-encoded Socket.IO packet to every socket of this node in `room` (no task, no await)."""
    if namespace not in manager.rooms:
        return
    pkt = eio_packet.Packet(eio_packet.MESSAGE, text)
    encoded = pkt.encode()
    sockets = manager.server.eio.sockets
    delivered = closed = 0
    for _, eio_sid in manager.get_participants(namespace, room):
        sock = sockets.get(eio_sid)
        if sock is None or sock.closed:
            closed += 1
            continue
        delivered += 1
        # As in deliver_locally: straight to an idle WebSocket with nothing queued ahead (QuickPollSocket.send_now).
        send_now = getattr(sock, "send_now", None)
        if send_now is not None and send_now(encoded):
            continue
        sock.queue.put_nowait(pkt)
    metrics = getattr(manager, "metrics", None)  # as in deliver_locally
    if metrics is not None:
        metrics.delivered(namespace, delivered)
        if closed:
            metrics.dropped("closed_socket", closed)


def queue_replay(manager: socketio.AsyncManager, eio_sid: str, entries: list[Entry]) -> None:
    sock = manager.server.eio.sockets.get(eio_sid)
    if sock is None or sock.closed:
        return
    for entry in entries:
        sock.queue.put_nowait(eio_packet.Packet(eio_packet.MESSAGE, entry.text))


def rooms_of(room: str | list[str]) -> list[str]:
    return [room] if isinstance(room, str) else list(dict.fromkeys(room))


class LocalLoggedEmitter:
    """Single node: the next position, the log, then this node's sockets; all without an await in between."""

    def __init__(self, manager: socketio.AsyncManager, log: LocalEventLog) -> None:
        self._manager = manager
        self.log = log

    async def emit_logged(self, event: str, payload: Any, namespace: str, room: str | list[str]) -> None:
        seq = self.log.position + 1
        text = encode_logged(namespace, event, payload, seq)
        rooms = rooms_of(room)
        self.log.append(seq, namespace, rooms, text, time.time())
        deliver_encoded(self._manager, namespace, rooms, text)

    async def durable_since(self, namespace: str, rooms: dict[str, int], after: int) -> list[Entry] | None:
        """The local log is the whole log on one node: nothing more to fetch."""
        return []

    @property
    def newest(self) -> int:
        return self.log.position


class LoggedPublisher:
    """The Publisher port for replayable events (everything the use cases publish to rooms)."""

    def __init__(self, emitter: Any) -> None:
        self._emitter = emitter

    async def publish(self, event: str, payload: dict[str, Any], *, namespace: str, room: str | list[str]) -> None:
        await self._emitter.emit_logged(event, payload, namespace, room)
