"""The server side of Socket.IO connection-state recovery (python-socketio has none): pid, offsets, replay."""

from __future__ import annotations

import logging
from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet as sio_packet

from adapters.inbound.socketio.logged_delivery import queue_replay
from adapters.outbound.event_log import Entry, LocalEventLog
from application.connections import ConnectionRegistry
from application.ports import RecoveryState
from application.recovery import ConnectionRecovery

log = logging.getLogger("vedfolnir.recovery")


class RecoveryProtocol:
    """Answers CONNECT with `{sid, pid}`; a CONNECT whose auth carries `{pid, offset}` gets its socket back.

    A recovering connect is checked like any other (the same connect handler runs: session, CSRF,
    connection cap, connect-attempt limit; the origin was checked at the handshake). The socket keeps
    its id and rooms and, right after the CONNECT answer and before any live event, receives every
    event of its rooms after its offset, in order. Anything that cannot be honoured in full (state
    expired or taken, other session, offset unknown, log trimmed, more than the replay budget) gives
    a fresh connection with a new pid: the stock client then sees `socket.recovered === false`.
    """

    def __init__(
        self,
        recovery: ConnectionRecovery,
        registry: ConnectionRegistry,
        emitter: Any,
        namespaces: tuple[str, ...],
    ) -> None:
        self._recovery = recovery
        self._registry = registry
        self._emitter = emitter
        self._log: LocalEventLog = emitter.log
        self.namespaces = namespaces
        self.deferring: dict[str, list[str]] = {}  # sid -> rooms asked for while its connect is being checked
        self.hits = 0
        self.misses = 0

    async def connect(self, server: socketio.AsyncServer, eio_sid: str, namespace: str, data: Any) -> None:
        auth = data if isinstance(data, dict) else None
        claimed: RecoveryState | None = None
        after = 0
        if auth is not None and "pid" in auth:
            pid, offset = auth.get("pid"), auth.get("offset")
            auth = {k: v for k, v in auth.items() if k not in ("pid", "offset")}
            claimed, after = await self._claim(pid, offset, namespace)
            if claimed is None:
                self._count(server, False)
        # A fresh socket id first: the old one is taken back only once this connection proved to be
        # the same session (a refused or foreign connection never gets it).
        sid = _pre_connect(server, eio_sid, namespace)
        if sid is None:
            await server._send_packet(
                eio_sid, server.packet_class(sio_packet.CONNECT_ERROR, data="Unable to connect", namespace=namespace)
            )
            return
        self.deferring[sid] = []
        fail_reason: Any = socketio.exceptions.ConnectionRefusedError().error_args
        try:
            success = await server._trigger_event("connect", namespace, sid, server.environ[eio_sid], auth or None)
        except socketio.exceptions.ConnectionRefusedError as exc:
            fail_reason, success = exc.error_args, False
        except ConnectionRefusedError:
            fail_reason, success = {"message": "Connection refused by server"}, False
        finally:
            automatic = self.deferring.pop(sid, [])
        if success is False:
            await server._send_packet(
                eio_sid, server.packet_class(sio_packet.CONNECT_ERROR, data=fail_reason, namespace=namespace)
            )
            await server.manager.disconnect(sid, namespace, ignore_queue=True)
            return
        conn = self._registry.get(sid)
        if claimed is not None and (conn is None or not self._recovery.accepts(claimed, conn)):
            self._count(server, False)
            claimed = None
        durable: list[Entry] = []
        if claimed is not None and after < self._log.known_from:  # older than this node's log: the shared one
            fetched = await self._durable(namespace, self._recovery.rooms(claimed, automatic), after)
            if fetched is None:
                self._count(server, False)
                claimed = None
            else:
                durable = fetched
        if claimed is not None:
            # The server may not have noticed the old transport drop yet: that socket ends first,
            # here or (a fleet) on its node.
            await server.disconnect(claimed.sid, namespace)
            if claimed.sid in server.manager.rooms.get(namespace, {}).get(None, {}):
                self._count(server, False)
                claimed = None
        state = self._accept(server, eio_sid, sid, namespace, automatic, claimed, after, durable)
        if state is not None:
            try:
                await self._recovery.remember(state)
            except Exception as exc:  # the connection works; only its recovery after a node loss does not
                log.warning("could not store a recoverable state (%s)", type(exc).__name__)

    async def _claim(self, pid: Any, offset: Any, namespace: str) -> tuple[RecoveryState | None, int]:
        try:
            claimed = await self._recovery.claim(pid, namespace, self._log.epoch)
        except Exception as exc:
            log.warning("could not look up a recoverable state (%s): a fresh connection", type(exc).__name__)
            return None, 0
        if claimed is None:
            return None, 0
        after = self._recovery.replay_from(claimed, offset, self._emitter.newest)
        return (None, 0) if after is None else (claimed, after)

    async def _durable(self, namespace: str, rooms: dict[str, int], after: int) -> list[Entry] | None:
        try:
            fetched: list[Entry] | None = await self._emitter.durable_since(namespace, rooms, after)
        except Exception as exc:
            log.warning("could not read the shared event log (%s): a fresh connection", type(exc).__name__)
            return None
        if fetched is None:
            return None
        return [e for e in fetched if e.seq <= self._log.known_from]  # the rest is in this node's log

    def _count(self, server: socketio.AsyncServer, hit: bool) -> None:
        if hit:
            self.hits += 1
        else:
            self.misses += 1
        metrics = getattr(server.manager, "metrics", None)
        if metrics is not None:
            metrics.recovery(hit)

    def _fits(self, server: socketio.AsyncServer, replay: list[Entry]) -> bool:
        """Within the replay budget, and within half the socket's outbound budget (the rest is for live events):
        a replay is queued at once, and a queue past its budget drops the socket."""
        limits = getattr(server.eio, "outbound", None)
        max_packets = self._recovery.max_replay
        max_chars = 1 << 62
        if limits is not None:
            max_packets = min(max_packets, limits.max_packets // 2)
            max_chars = limits.max_chars // 2
        return _fits_budget(replay, max_packets, max_chars)

    def _accept(
        self,
        server: socketio.AsyncServer,
        eio_sid: str,
        sid: str,
        namespace: str,
        automatic: list[str],
        claimed: RecoveryState | None,
        after: int,
        durable: list[Entry],
    ) -> RecoveryState | None:
        # No await from here to the end: nothing can be delivered between the replay and the room joins.
        replay: list[Entry] | None = None
        if claimed is not None:
            rooms = self._recovery.rooms(claimed, automatic)
            local = self._log.since(namespace, rooms, max(after, self._log.known_from))
            if local is not None and self._fits(server, durable + local):
                replay = durable + local
            self._count(server, replay is not None)
        _connected(server.manager, sid, namespace)
        if claimed is not None and replay is not None:
            _rename(server.manager, namespace, eio_sid, sid, claimed.sid)
            self._registry.rename(sid, claimed.sid)
            sid = claimed.sid
        conn = self._registry.get(sid)
        position = self._log.position
        state = None
        pid = None
        if conn is not None:
            state = self._recovery.begin(conn, position, self._log.epoch, claimed if replay is not None else None)
            pid = state.pid
        answer = {"sid": sid, "pid": pid} if pid is not None else {"sid": sid}
        encoded = server.packet_class(sio_packet.CONNECT, answer, namespace=namespace).encode()
        sock = server.eio.sockets.get(eio_sid)
        if sock is not None and not sock.closed:
            sock.queue.put_nowait(eio_packet.Packet(eio_packet.MESSAGE, encoded))
        if replay:
            queue_replay(server.manager, eio_sid, replay)
        for room in automatic:
            server.manager.basic_enter_room(sid, namespace, room)
        for room, _ in state.joined if state is not None else ():
            if room not in automatic:
                server.manager.basic_enter_room(sid, namespace, room)
        return state


def _fits_budget(entries: list[Entry], max_packets: int, max_chars: int) -> bool:
    return len(entries) <= max_packets and sum(len(e.text) for e in entries) <= max_chars


def _pre_connect(server: socketio.AsyncServer, eio_sid: str, namespace: str) -> str | None:
    """python-socketio's `pre_connect` (synchronous; its async wrapper adds nothing)."""
    manager = server.manager
    if manager.sid_from_eio_sid(eio_sid, namespace) is not None:  # this connection already has the namespace
        return None  # (bidict's ValueDuplicationError below is no ValueError: it would escape)
    sid = server.eio.generate_id()
    try:
        manager.basic_enter_room(sid, namespace, None, eio_sid=eio_sid)
    except ValueError:  # bidict's ValueDuplicationError: this Engine.IO connection already has the namespace
        return None
    manager.basic_enter_room(sid, namespace, sid, eio_sid=eio_sid)
    manager.pending_connect.setdefault(namespace, []).append(sid)
    return sid


def _rename(manager: socketio.AsyncManager, namespace: str, eio_sid: str, sid: str, to: str) -> None:
    """The connected socket `sid` (in no room but its own yet) becomes `to` in the manager's maps."""
    manager.basic_leave_room(sid, namespace, sid)
    del manager.rooms[namespace][None][sid]
    manager.basic_enter_room(to, namespace, None, eio_sid=eio_sid)
    manager.basic_enter_room(to, namespace, to, eio_sid=eio_sid)


def _connected(manager: socketio.AsyncManager, sid: str, namespace: str) -> None:
    """python-socketio's `connect` once pre-connected (synchronous: its async wrapper only adds a pre-connect)."""
    pending = manager.pending_connect.get(namespace)
    if pending is not None and sid in pending:
        pending.remove(sid)
        if not pending:
            del manager.pending_connect[namespace]
