"""The Transport and Publisher ports over the socket server (this node's sockets, or every node's through the manager)."""

from __future__ import annotations

import logging
from typing import Any

import socketio

from adapters.inbound.socketio.recovery import RecoveryProtocol
from application.ports import RecoveryState
from application.recovery import ConnectionRecovery

log = logging.getLogger("vedfolnir.recovery")


class SocketTransport:
    """The Transport port over the socket server (this node's sockets)."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self._sio = sio

    async def enter_room(self, sid: str, room: str, namespace: str) -> None:
        await self._sio.enter_room(sid, room, namespace=namespace)

    async def leave_room(self, sid: str, room: str, namespace: str) -> None:
        await self._sio.leave_room(sid, room, namespace=namespace)

    async def send(self, sid: str, event: str, payload: dict[str, Any], namespace: str) -> None:
        # The socket is on this node: with a Redis manager, publishing it too would cost every reply a
        # Redis round trip and every other node a message to decode and drop.
        await self._sio.emit(event, payload, to=sid, namespace=namespace, ignore_queue=True)

    async def disconnect(self, sid: str, namespace: str) -> None:
        await self._sio.disconnect(sid, namespace=namespace)


class SocketPublisher:
    """The Publisher port: through the client manager, so a Redis manager reaches every node."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self._sio = sio

    async def publish(self, event: str, payload: dict[str, Any], *, namespace: str, room: str | list[str]) -> None:
        await self._sio.emit(event, payload, to=room, namespace=namespace)


class RecoveringTransport(SocketTransport):
    """The Transport port that holds a connecting socket's rooms until its connect is answered,
    and keeps each live socket's recoverable rooms current."""

    def __init__(self, sio: socketio.AsyncServer, recovery: ConnectionRecovery, emitter: Any) -> None:
        super().__init__(sio)
        self._recovery = recovery
        self._emitter = emitter

    @property
    def protocol(self) -> RecoveryProtocol | None:
        return getattr(self._sio, "recovery", None)

    async def enter_room(self, sid: str, room: str, namespace: str) -> None:
        protocol = self.protocol
        deferred = protocol.deferring.get(sid) if protocol is not None else None
        if deferred is not None:
            deferred.append(room)
            return
        await super().enter_room(sid, room, namespace)
        state = self._recovery.joined(sid, room, self._emitter.log.position)
        if state is not None:
            await _remember(self._recovery, state)

    async def leave_room(self, sid: str, room: str, namespace: str) -> None:
        await super().leave_room(sid, room, namespace)
        state = self._recovery.left(sid, room)
        if state is not None:
            await _remember(self._recovery, state)


async def _remember(recovery: ConnectionRecovery, state: RecoveryState) -> None:
    try:
        await recovery.remember(state)
    except Exception as exc:  # the room change stands; a recovery after a node loss may miss it
        log.warning("could not store a recoverable state (%s)", type(exc).__name__)
