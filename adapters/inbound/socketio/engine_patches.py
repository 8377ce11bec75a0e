"""Every python-socketio/engineio method we override, quarantined here; per patch: docs/upstream-overrides.md."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import time
from collections.abc import Awaitable, Callable
from typing import Any

import engineio
import socketio
from aiohttp import WSMsgType, web
from engineio import exceptions as engineio_exceptions
from engineio import packet as eio_packet
from engineio import payload as engineio_payload
from engineio.async_drivers import aiohttp as engineio_aiohttp
from engineio.async_socket import AsyncSocket

from adapters.inbound.bodies import read_whole
from adapters.inbound.frame_cork import FrameCork
from adapters.inbound.handshake_guard import HandshakeGuard
from adapters.inbound.outbound_budget import BudgetQueue, OutboundLimits
from adapters.inbound.socketio.engine_door import OriginPolicy
from adapters.inbound.socketio.packets import GuardedPacket, RefusedPacket
from adapters.inbound.socketio.recovery import RecoveryProtocol
from application.security import SecurityEvents
from application.stamping import Stamp
from domain import events, messages
from domain.access import ADMIN_NAMESPACE, USER_NAMESPACE
from domain.errors import DomainError, ErrorCode

# Namespace CONNECT packets one Engine.IO connection may send; a real client sends one per namespace.
MAX_CONNECTS_PER_ENGINE_CONNECTION = 10


class GuardedServer(socketio.AsyncServer):
    """python-socketio with its doors closed.

    Reserved event names, binary and malformed packets are refused at decode (GuardedPacket, passed as
    `serializer=`); this class answers those refusals, bounds namespace CONNECTs per connection and closes
    a connection that connects no namespace in time. Its overrides: docs/upstream-overrides.md.
    """

    security: SecurityEvents | None = None
    # Runs after each CONNECT answer, on the client's read loop (the gateway delivers refusals there).
    after_connect: Callable[[str, str], Awaitable[None]] | None = None
    connect_timeout: float = 10.0
    stamp: Stamp  # set by create_socket_server

    def _engineio_server_class(self) -> type[engineio.AsyncServer]:
        return GuardedEngine

    async def _handle_eio_connect(self, eio_sid, environ):  # type: ignore[no-untyped-def]
        sock = self.eio.sockets.get(eio_sid)
        if sock is not None and type(sock) is AsyncSocket:
            sock.__class__ = QuickPollSocket  # before its writer starts: the socket is seconds old
        if sock is not None and isinstance(sock.queue, BudgetQueue):
            sock.queue.owner = sock
        if self.connect_timeout > 0:
            asyncio.get_running_loop().call_later(self.connect_timeout, self._connect_deadline, eio_sid)
        return await super()._handle_eio_connect(eio_sid, kept_environ(environ))

    def _connect_deadline(self, eio_sid: str) -> None:
        """An Engine.IO connection with no namespace connected by now is closed (node's `connectTimeout`)."""
        sock = self.eio.sockets.get(eio_sid)
        if sock is None or sock.closing or sock.closed:
            return
        for namespace in self.manager.get_namespaces():
            if self.manager.sid_from_eio_sid(eio_sid, namespace) is not None:
                return
        if isinstance(sock.queue, BudgetQueue):
            sock.queue.drop("handshake_timeout")

    async def _handle_eio_message(self, eio_sid, data):  # type: ignore[no-untyped-def]
        """Upstream's dispatcher, with GuardedPacket's refusals answered and CONNECTs bounded and followed up."""
        if eio_sid not in self.environ:  # the connection ended, e.g. by a CLOSE earlier in the same polling POST
            return None
        connect = isinstance(data, str) and data[:1] == "0"
        if connect and self._connect_flood(eio_sid):
            return None
        try:
            if not data:  # upstream's Packet skips decoding an empty text and would dispatch an EVENT of None
                raise RefusedPacket("malformed_packet", undecodable=True)
            return await super()._handle_eio_message(eio_sid, data)
        except RefusedPacket as refused:
            self._record(refused.kind)
            if refused.kind == "binary_refused" and refused.namespace is not None:
                await self._refuse_binary(eio_sid, refused.namespace)
            elif refused.undecodable:
                await self._transport_error(eio_sid)
            return None
        finally:  # also when the answer could not be sent: a pending refusal is always taken back
            if connect and self.after_connect is not None:
                await self.after_connect(eio_sid, _namespace_of(data))

    async def _refuse_binary(self, eio_sid: str, namespace: str) -> None:
        sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
        if sid is None:
            return
        payload = self.stamp(
            messages.error(DomainError(ErrorCode.INVALID_MESSAGE, "Binary attachments are not accepted"), None, None)
        )
        await self.emit(events.ERROR, payload, to=sid, namespace=namespace)

    async def _transport_error(self, eio_sid: str) -> None:
        """Tells each namespace this client has connected that a packet of its could not be decoded."""
        for namespace in (USER_NAMESPACE, ADMIN_NAMESPACE):
            sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
            if sid is None:
                continue
            err = DomainError(ErrorCode.TRANSPORT_ERROR, "A packet could not be decoded and was dropped")
            payload = messages.error(err, None, None)
            payload["retry_possible"] = False
            self.stamp(payload)
            await self.emit(events.ERROR, payload, to=sid, namespace=namespace)

    def _record(self, kind: str) -> None:
        if self.security is not None:
            self.security.record(kind)

    def _connect_flood(self, eio_sid: str) -> bool:
        """Past MAX_CONNECTS_PER_ENGINE_CONNECTION namespace CONNECTs, the connection is dropped: each
        CONNECT is answered (accepted or refused), so repeating it on a socket that never reads would queue
        answers without end while the connect-attempt limit only changes which answer is queued."""
        sock = self.eio.sockets.get(eio_sid)
        if sock is None:
            return True
        sock.namespace_connects = getattr(sock, "namespace_connects", 0) + 1
        if sock.namespace_connects <= MAX_CONNECTS_PER_ENGINE_CONNECTION:
            return False
        if isinstance(sock.queue, BudgetQueue):
            sock.queue.drop("connect_flood")
        return True


def _namespace_of(encoded: str) -> str:
    """The namespace of an encoded CONNECT packet (as GuardedPacket would decode it), for after_connect."""
    try:
        return GuardedPacket(encoded_packet=encoded).namespace or "/"
    except RefusedPacket:
        return "/"


# What a connection keeps of its handshake request for its whole life: the few values we read, not every header.
KEPT_HEADERS = (
    "HTTP_COOKIE",
    "HTTP_ORIGIN",
    "HTTP_HOST",
    "HTTP_SEC_FETCH_SITE",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_USER_AGENT",
    "QUERY_STRING",
)


def kept_environ(environ: dict[str, Any]) -> dict[str, Any]:
    """The environ python-socketio stores per connection, cut down to what is used (the peer's real address
    included: the engine's own REMOTE_ADDR is a fixed placeholder)."""
    request = environ.get("aiohttp.request")
    kept = {key: environ[key] for key in KEPT_HEADERS if key in environ}
    kept["REMOTE_ADDR"] = (request.remote if request is not None else None) or "unknown"
    if "HTTP_USER_AGENT" in kept:
        kept["HTTP_USER_AGENT"] = kept["HTTP_USER_AGENT"][:256]
    return kept


class QuickPollSocket(AsyncSocket):
    """An Engine.IO socket whose writer takes queued packets without a task and a timer per wake-up.

    The stock `poll` wraps every `queue.get()` in `asyncio.wait_for` (a task and a timer per delivery)
    only to end a writer that hears nothing for a ping cycle. A WebSocket's writer needs no timer: its
    reader loop always ends within a ping cycle and then queues the `None` that ends the writer.
    A long-polling GET keeps the timeout: a client that closed by POST may never send another packet.
    """

    cork: FrameCork | None = None
    last_ping: float | None  # set by upstream: when the last PING went out; None while the next is scheduled
    idle = False  # the WebSocket writer waits on an empty queue: nothing of ours is in flight

    def send_now(self, text: str) -> bool:
        """Writes one encoded packet straight to the WebSocket, if nothing can be ahead of it: the writer
        is idle, the queue empty, the TCP buffer empty (the client reads). False: queue it instead.

        A fan-out then costs each idle recipient one write, not a writer wake-up (task step, poll,
        send chain) per delivery. A client that stops reading leaves bytes in its TCP buffer, so its
        next packets take the queue, with its budget and write timeout, as before.
        """
        cork = self.cork
        if not self.idle or cork is None or self.closing or not self.queue.empty():
            return False
        return cork.write_now(text)

    async def send(self, pkt: Any) -> None:
        """The engine's send (acks, connect answers, pings): straight to an idle WebSocket, else queued."""
        if not await self.check_ping_timeout():
            return
        if self.idle and self.send_now_packet(pkt):
            return
        await self.queue.put(pkt)

    def send_now_packet(self, pkt: Any) -> bool:
        encoded = pkt.encode()
        return isinstance(encoded, str) and self.send_now(encoded)

    def schedule_ping(self) -> None:
        """Upstream's schedule_ping, minus its task: the next PING is due one interval from now on the
        server's PingClock (one timer for every socket) instead of in a sleeping task of this socket's own
        (a task, its coroutine, a future and a timer per idle connection)."""
        if not self.last_ping:  # only once the previous ping cycle completed, as upstream
            return
        clock = getattr(self.server, "ping_clock", None)
        if clock is None:
            super().schedule_ping()
            return
        self.last_ping = None
        clock().add(self.sid)

    def ping_due(self) -> None:
        """Upstream's `_send_ping` after its sleep: the PING, unless the socket is closing."""
        if self.closing or self.closed:
            return
        self.last_ping = time.time()
        pkt = eio_packet.Packet(eio_packet.PING)
        if not (self.idle and self.send_now_packet(pkt)):
            self.queue.put_nowait(pkt)

    async def _websocket_handler(self, ws: Any) -> None:
        """python-engineio's WebSocket handler (copied, 4.15.1) with its reader loop made cheaper.

        Upstream wraps every wait for the next frame in a new task and `asyncio.wait_for`: a task, a
        future and a timer per received packet, and a pending task per idle connection. Here the
        wait is awaited in place under `asyncio.timeout` (one timer, no task): the same ping-cycle
        limit, no task per event, less memory per idle connection; a plain yield after each packet keeps
        the fairness the task gave. The upgrade handshake and the writer are upstream's, line for line.
        """
        max_size = self.server.max_http_buffer_size

        async def websocket_wait() -> Any:
            data = await ws.wait()
            if data and len(data) > max_size:
                raise ValueError("packet is too large")
            return data

        if self.connected:  # type: ignore[has-type]
            # the socket was already connected, so this is an upgrade
            self.upgrading = True  # hold packet sends during the upgrade
            try:
                pkt = await websocket_wait()
            except OSError:  # pragma: no cover
                return
            decoded_pkt = eio_packet.Packet(encoded_packet=pkt)
            if decoded_pkt.packet_type != eio_packet.PING or decoded_pkt.data != "probe":
                self.server.logger.info("%s: Failed websocket upgrade, no PING packet", self.sid)
                self.upgrading = False
                return
            await ws.send(eio_packet.Packet(eio_packet.PONG, data="probe").encode())
            await self.queue.put(eio_packet.Packet(eio_packet.NOOP))  # end poll
            try:
                pkt = await websocket_wait()
            except OSError:  # pragma: no cover
                self.upgrading = False
                return
            decoded_pkt = eio_packet.Packet(encoded_packet=pkt)
            if decoded_pkt.packet_type != eio_packet.UPGRADE:
                self.upgraded = False
                self.server.logger.info(
                    "%s: Failed websocket upgrade, expected UPGRADE packet, received %s instead.", self.sid, pkt
                )
                self.upgrading = False
                return
            self.upgraded = True
            self.upgrading = False
        else:
            self.connected = True
            self.upgraded = True

        async def writer() -> None:
            while True:
                packets = None
                try:
                    packets = await self.poll()
                except engineio_exceptions.QueueEmpty:
                    break
                if not packets:
                    break  # empty packet list returned -> connection closed
                try:
                    for pkt in packets:
                        await ws.send(pkt.encode())
                except Exception:
                    break
            await ws.close()

        writer_task = asyncio.ensure_future(writer())
        self.server.logger.info("%s: Upgrade to websocket successful", self.sid)
        timeout = self.server.ping_interval + self.server.ping_timeout
        while True:
            try:
                async with asyncio.timeout(timeout):
                    p = await websocket_wait()
            except asyncio.CancelledError:  # the handler cancelled (shutdown): clean up, as upstream does
                break
            except Exception:  # the timeout, a closed or broken connection, an oversized frame
                break
            if p is None:
                break  # connection closed by client
            pkt = eio_packet.Packet(encoded_packet=p)
            try:
                await self.receive(pkt)
            except engineio_exceptions.UnknownPacketError:  # pragma: no cover
                pass
            except engineio_exceptions.SocketIsClosedError:  # pragma: no cover
                self.server.logger.info("Receive error -- socket is closed")
                break
            except Exception:  # pragma: no cover
                self.server.logger.exception("Unknown receive error")
            # Frames already buffered are read without suspending: give the other connections their turn
            # (upstream's task per frame did so implicitly), or a flooding client starves everyone else.
            await asyncio.sleep(0)
        await self.queue.put(None)  # unlock the writer task so it can exit
        await writer_task
        await self.close(wait=False, abort=True, reason=self.server.reason.TRANSPORT_CLOSE)

    async def poll(self) -> list[Any]:
        cork = self.cork
        if cork is not None:
            cork.release()  # the writer sent the previous batch: one write for all its frames
        queue = self.queue
        try:
            if not queue.empty():
                first = queue.get_nowait()
            elif self.upgraded:
                self.idle = True
                try:
                    first = await queue.get()
                finally:
                    self.idle = False
            else:
                async with asyncio.timeout(self.server.ping_interval + self.server.ping_timeout):
                    first = await queue.get()
        except (TimeoutError, asyncio.CancelledError):
            raise engineio_exceptions.QueueEmpty() from None
        queue.task_done()
        if first is None:
            return []
        packets = [first]
        while not queue.empty():
            pkt = queue.get_nowait()
            queue.task_done()
            if pkt is None:
                queue.put_nowait(None)
                break
            packets.append(pkt)
        if cork is not None and len(packets) > 1:
            cork.hold()
        return packets

    async def close(self, wait: bool = True, abort: bool = False, reason: Any = None) -> None:
        """Upstream's close(wait=True) waits until the client has taken every queued packet (queue.join): a
        polling client that stops polling (say, after a POST the engine refused) would hold the request that
        closed it forever. The wait is bounded by the write timeout.

        An aborted close (the client's CLOSE by POST, among others) queues no CLOSE packet, so upstream leaves a
        pending long-polling GET hanging for a whole ping cycle (45 s): the request, its handler and the client's
        own `disconnect()` all wait on it. A NOOP ends that GET at once (a late reader just sees a NOOP)."""
        first = not (self.closed or self.closing)
        await super().close(wait=False, abort=abort, reason=reason)
        if wait:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(getattr(self.server, "outbound", OutboundLimits()).write_timeout):
                    await self.queue.join()
        if first and abort and not self.upgraded:
            self.queue.put_nowait(eio_packet.Packet(eio_packet.NOOP))

    async def handle_post_request(self, environ: dict[str, Any]) -> None:
        """A long-polling POST read to its end (upstream reads once: a body split over two TCP segments lost
        its tail and, with it, the packets), or refused whole when larger than the engine's limit."""
        length = environ.get("CONTENT_LENGTH")
        limit = self.server.max_http_buffer_size
        if length is not None and (not length.isdigit() or int(length) > limit):
            raise engineio_exceptions.ContentTooLongError()
        body = await read_whole(environ["wsgi.input"], limit)
        if body is None:
            raise engineio_exceptions.ContentTooLongError()
        for pkt in engineio_payload.Payload(encoded_payload=body.decode("utf-8")).packets:
            if not 0 <= pkt.packet_type <= eio_packet.NOOP:  # "7".."9" decode, then break the engine's receive()
                security = getattr(self.server, "security", None)
                if security is not None:
                    security.record("malformed_packet", transport="polling")
                continue
            await self.receive(pkt)


# The text of the packet sent last and its UTF-8 bytes: a broadcast sends one text to every socket in turn.
_last_encoded: list[tuple[str | None, bytes]] = [(None, b"")]


def _forget_handshake(environ: dict[str, Any]) -> None:
    """Empties the WebSocket request's environ once the socket is prepared.

    The engine's suspended frames (handle_request, _handle_connect, handle_get_request) reference it for the
    connection's whole life, every header under a new key (~1.5 KiB); nothing reads it after this point:
    python-socketio keeps our cut-down copy (kept_environ) and the engine returns the WebSocket response
    as is. REQUEST_METHOD stays for the engine's error answer, which reads it (`_cors_headers`).
    """
    method = environ.get("REQUEST_METHOD", "GET")
    environ.clear()
    environ["REQUEST_METHOD"] = method


class GuardedWebSocket(engineio_aiohttp.WebSocket):
    """The engine's aiohttp WebSocket wrapper, hardened and made cheaper per frame.

    - Frames that are no Engine.IO packet at all (empty, or no packet-type digit) become a no-op:
      python-engineio decodes each frame outside its error handling, so such a frame would end the
      request handler with an unhandled ValueError.
    - No permessage-deflate: compressing each small JSON frame once per socket costs more CPU than
      it saves bandwidth (node's socket.io turned it off by default for the same reason).
    - A broadcast's text is encoded to UTF-8 once, not once per socket.
    - The handshake request's environ is emptied once the socket is prepared (see _forget_handshake).
    """

    _transport: asyncio.Transport | None = None

    async def __call__(self, environ: dict[str, Any]) -> Any:
        request = environ["aiohttp.request"]
        self._sock = web.WebSocketResponse(max_msg_size=self.server.max_http_buffer_size, compress=False)
        await self._sock.prepare(request)
        self._transport = request.transport
        _forget_handshake(environ)
        owner = getattr(self.handler, "__self__", None)  # the engine socket whose _websocket_handler runs us
        if owner is not None and isinstance(owner.queue, BudgetQueue):
            owner.queue.transport = request.transport
        writer = getattr(self._sock, "_writer", None)
        if owner is not None and writer is not None:
            owner.cork = FrameCork(writer)  # QuickPollSocket.poll holds it around a batch of packets
        await self.handler(self)
        return self._sock

    async def send(self, message: str | bytes) -> None:
        transport = self._transport
        if transport is None or not transport.get_write_buffer_size():
            await self._send(message)
            return
        # The client is behind: bound the wait for its TCP window, or the writer could block forever.
        try:
            async with asyncio.timeout(getattr(self.server, "outbound", OutboundLimits()).write_timeout):
                await self._send(message)
        except TimeoutError:
            security = getattr(self.server, "security", None)
            if security is not None:
                security.record("write_timeout", pending_bytes=transport.get_write_buffer_size())
            transport.abort()
            raise ConnectionResetError("write timeout") from None

    async def _send(self, message: str | bytes) -> None:
        if isinstance(message, bytes):
            await self._sock.send_bytes(message)
            return
        last_text, last_bytes = _last_encoded[0]
        if last_text is not message:
            last_bytes = message.encode()
            _last_encoded[0] = (message, last_bytes)
        await self._sock.send_frame(last_bytes, WSMsgType.TEXT)

    async def wait(self) -> Any:
        data = await super().wait()
        if isinstance(data, str) and (not data or data[0] not in "0123456"):
            return "6"  # NOOP: ignored by the server
        return data


class PingClock:
    """When each socket's next PING is due, for one server: a heap of (due, sid) and one timer for its head.

    Holds the sid only: a socket that ends before its ping is due is skipped then (it is no longer in the
    engine's `sockets`, or it is closed), so the heap holds at most one entry per socket that was alive
    within the last ping interval.
    """

    __slots__ = ("_due", "_engine", "_timer")

    def __init__(self, engine: engineio.AsyncServer) -> None:
        self._engine = engine
        self._due: list[tuple[float, str]] = []
        self._timer: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        return len(self._due)

    def add(self, sid: str) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time() + self._engine.ping_interval
        heapq.heappush(self._due, (due, sid))
        timer = self._timer
        if timer is None or due < timer.when():
            if timer is not None:
                timer.cancel()
            self._timer = loop.call_at(due, self._fire)

    def _fire(self) -> None:
        self._timer = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        due, sockets = self._due, self._engine.sockets
        while due and due[0][0] <= now:
            sid = heapq.heappop(due)[1]
            sock = sockets.get(sid)
            if isinstance(sock, QuickPollSocket):
                try:
                    sock.ping_due()
                except Exception:  # one socket's failure must not stop the others' pings
                    self._engine.logger.exception("%s: ping failed", sid)
        if due:
            self._timer = loop.call_at(due[0][0], self._fire)


class GuardedEngine(engineio.AsyncServer):
    """The Engine.IO server with a bounded queue per socket; what EngineDoor (the route in front of its
    `handle_request`) reads to refuse a request before any engine work."""

    origin_policy: OriginPolicy | None = None
    outbound: OutboundLimits = OutboundLimits()
    security: SecurityEvents | None = None
    handshake_guard: HandshakeGuard | None = None
    stamp: Stamp  # set by create_socket_server

    _ping_clock: PingClock | None = None

    def ping_clock(self) -> PingClock:
        """The clock every QuickPollSocket of this server schedules its next PING on."""
        if self._ping_clock is None:
            self._ping_clock = PingClock(self)
        return self._ping_clock

    def create_queue(self, *args: Any, **kwargs: Any) -> BudgetQueue:
        """Each socket's outgoing queue, bounded by the outbound budget and allocated only while in use
        (see outbound_budget.py)."""
        return BudgetQueue(self.outbound, self.security)


class RecoveringServer(GuardedServer):
    """GuardedServer whose CONNECT goes through the recovery protocol for the namespaces it serves.

    Overrides the private `_handle_connect` (python-socketio 5.x): the socket id is chosen in it,
    before the connect handler runs, and recovery must choose the old one.
    """

    recovery: RecoveryProtocol | None = None

    async def _handle_connect(self, eio_sid, namespace, data):  # type: ignore[no-untyped-def]
        namespace = namespace or "/"
        protocol = self.recovery
        if protocol is None or namespace not in protocol.namespaces:
            return await super()._handle_connect(eio_sid, namespace, data)
        return await protocol.connect(self, eio_sid, namespace, data)
