"""Socket.IO on aiohttp: decode each connect, event and disconnect, call its use case, encode the answer."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

import orjson
import socketio

from adapters.inbound.client_address import ClientAddress
from adapters.inbound.handshake import CsrfMode, cookie_value, cross_origin_polling_without_cookies, origin_proven
from adapters.inbound.outbound_budget import OutboundLimits
from adapters.inbound.refusals import RefusalDelivery, client_key
from adapters.inbound.socketio.engine_door import OriginPolicy
from adapters.inbound.socketio.engine_log import engine_logger
from adapters.inbound.socketio.engine_patches import GuardedServer, GuardedWebSocket
from adapters.inbound.socketio.local_manager import DirectManager
from adapters.inbound.socketio.packets import ACK_WANTED, GuardedPacket
from adapters.observability import log_context
from adapters.outbound.system import SecureTokens, SystemClock
from application.client_events import UNANSWERED, ClientEventGate
from application.connect import ConnectClient, DisconnectClient
from application.port_errors import PortError
from application.ports import Clock, TokenSource
from application.security import SecurityEvents
from application.stamping import Stamp
from domain.access import ADMIN_NAMESPACE, USER_NAMESPACE
from domain.errors import DomainError, ErrorCode

log = logging.getLogger("vedfolnir.socket")


class OrjsonModule:
    """The `json` module python-socketio calls, backed by orjson."""

    @staticmethod
    def dumps(obj: Any, **_: Any) -> str:
        return orjson.dumps(obj).decode()

    @staticmethod
    def loads(data: str | bytes, **_: Any) -> Any:
        return orjson.loads(data)


# How a refusal left unanswered (see ClientEventGate) is counted in the metrics.
QUIET_REFUSAL = {"error_code": ErrorCode.RATE_LIMIT_EXCEEDED.value}


def create_socket_server(
    cors_origins: list[str] | str,
    max_message_bytes: int,
    security: SecurityEvents | None = None,
    manager: socketio.AsyncManager | None = None,
    outbound: OutboundLimits | None = None,
    server_class: type[GuardedServer] | None = None,
    stamp: Stamp | None = None,
) -> socketio.AsyncServer:
    server = (server_class or GuardedServer)(
        async_mode="aiohttp",
        client_manager=manager or DirectManager(),
        cors_allowed_origins=cors_origins,
        cors_credentials=True,
        json=OrjsonModule,
        # Engine-level cap: larger frames close the connection; up to it, the gate answers MESSAGE_TOO_LARGE.
        max_http_buffer_size=max_message_bytes * 4,
        async_handlers=False,  # no task per event: each client's events run in order on its read loop
        always_connect=False,
        logger=False,
        engineio_logger=engine_logger(security),
        serializer=GuardedPacket,  # refuses binary packets and neutralises reserved event names at decode
    )
    server.security = security
    server.stamp = server.eio.stamp = stamp or Stamp(SystemClock(), SecureTokens())
    server.eio.origin_policy = OriginPolicy(cors_origins, security, server.stamp)
    server.eio.outbound = outbound or OutboundLimits()
    server.eio.security = security
    server.eio._async = {**server.eio._async, "websocket": GuardedWebSocket}
    return server


class SocketGateway:
    """Registers the handlers of both namespaces; converts every outcome to the reference's format."""

    def __init__(
        self,
        sio: socketio.AsyncServer,
        connect: ConnectClient,
        disconnect: DisconnectClient,
        gate: ClientEventGate,
        clock: Clock,
        tokens: TokenSource,
        cookie_name: str,
        login_url: str,
        trusted_proxies: Iterable[str] = (),
        metrics: Any = None,
        *,
        refusals: RefusalDelivery | None = None,
        csrf_mode: CsrfMode = "origin",
        allowed_origins: list[str] | str = (),  # type: ignore[assignment]
        connect_timeout: float = 10.0,
    ) -> None:
        self._refusals = refusals if refusals is not None else RefusalDelivery(sio, clock, tokens, login_url)
        self._csrf_mode = csrf_mode
        self._allowed_origins = allowed_origins if allowed_origins == "*" else list(allowed_origins)
        self._connect_timeout = connect_timeout
        if isinstance(sio, GuardedServer):
            sio.after_connect = self._refusals.after_connect
        self._metrics = metrics  # adapters.observability.metrics.Metrics, or None
        self.in_flight = 0  # client events being handled now (a draining node waits for them)
        self._sio = sio
        self._connect = connect
        self._disconnect = disconnect
        self._gate = gate
        self._clock = clock
        self._tokens = tokens
        self._cookie_name = cookie_name
        self._login_url = login_url
        self._address = ClientAddress(trusted_proxies)
        for namespace in (USER_NAMESPACE, ADMIN_NAMESPACE):
            sio.on("connect", self._connect_handler(namespace), namespace=namespace)
            sio.on("disconnect", self._disconnect_handler, namespace=namespace)
            sio.on("*", self._on_event, namespace=namespace)

    def _connect_handler(self, namespace: str) -> Any:
        async def on_connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
            context = log_context.socket_event.set((sid, "connect", None))
            try:
                await self._on_connect(namespace, sid, environ, auth)
            finally:
                log_context.socket_event.reset(context)

        return on_connect

    async def _on_connect(self, namespace: str, sid: str, environ: dict[str, Any], auth: Any) -> None:
        auth = auth if isinstance(auth, dict) else {}
        session_id = _text(auth.get("session_id"), SESSION_ID_MAX) or self._cookie(environ)
        csrf_token = _text(auth.get("csrf_token"))
        ip = self.client_ip(environ)
        physical_id = self._sio.manager.eio_sid_from_sid(sid, namespace) or sid
        try:
            if session_id is None:
                origin = cross_origin_polling_without_cookies(environ)
                if origin is not None:
                    raise DomainError(
                        ErrorCode.CORS_CREDENTIALS_ERROR,
                        "This cross-origin request carried no cookies: sign in, or connect with withCredentials: true",
                        origin=origin[:200],
                    )
            proven = origin_proven(environ, self._csrf_mode, self._allowed_origins)
            async with asyncio.timeout(self._connect_timeout):
                await self._connect(sid, physical_id, namespace, session_id, csrf_token, ip, origin_proven=proven)
        except DomainError as err:
            self._count_connect(namespace, err.code.value)
            self._refuse(err, physical_id, namespace, ip, session_id)
            return
        except PortError as exc:  # the ports' taxonomy, mapped here once for every connect
            self._count_connect(namespace, exc.code.value)
            self._refuse(exc.refusal(), physical_id, namespace, ip, session_id)
            return
        except TimeoutError:
            log.warning("connect check took over %.1f s", self._connect_timeout)
            self._count_connect(namespace, ErrorCode.CONNECTION_TIMEOUT.value)
            await self._disconnect(sid, "server error")
            late = DomainError(
                ErrorCode.CONNECTION_TIMEOUT, "The server could not check the session in time; try again shortly"
            )
            self._refuse(late, physical_id, namespace, ip, session_id)
            return
        except Exception:
            log.exception("connect handler failed")
            self._count_connect(namespace, ErrorCode.INTERNAL_ERROR.value)
            await self._disconnect(sid, "server error")
            internal = DomainError(ErrorCode.INTERNAL_ERROR, "The server could not accept the connection")
            self._refuse(internal, physical_id, namespace, ip, session_id)
            return
        self._count_connect(namespace, "accepted")

    def _count_connect(self, namespace: str, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.connect(namespace, outcome)

    def _refuse(self, err: DomainError, eio_sid: str, namespace: str, ip: str, credential: str | None) -> None:
        self._refusals.refuse(
            err, eio_sid=eio_sid, namespace=namespace, client_key=client_key(ip, namespace, credential)
        )

    async def _disconnect_handler(self, sid: str, reason: Any = None) -> None:
        try:
            await self._disconnect(sid, str(reason))
        except Exception:
            log.exception("disconnect handler failed")

    async def _on_event(self, event: Any, sid: str, *args: Any) -> Any:
        context = log_context.socket_event.set((sid, event, args))
        self.in_flight += 1
        try:
            answer = await self._gate.handle(sid, event, args, ack=ACK_WANTED.get())
            if answer is UNANSWERED:
                if self._metrics is not None:
                    self._metrics.client_event(event, QUIET_REFUSAL)
                return self._sio.not_handled
            if self._metrics is not None:
                self._metrics.client_event(event, answer)
            return answer
        except asyncio.CancelledError:
            raise
        except Exception:  # the gate answers everything; this is the last fence before the transport
            log.exception("event gate failed")
            return None
        finally:
            self.in_flight -= 1
            log_context.socket_event.reset(context)

    def _cookie(self, environ: dict[str, Any]) -> str | None:
        return cookie_value(environ.get("HTTP_COOKIE"), self._cookie_name)

    def client_ip(self, environ: dict[str, Any]) -> str:
        request = environ.get("aiohttp.request")
        peer = (request.remote if request is not None else None) or environ.get("REMOTE_ADDR") or "unknown"
        return self._address.client_ip(str(peer), environ.get("HTTP_X_FORWARDED_FOR"))


# auth.session_id may be a whole Flask session cookie (SESSION_SOURCE=flask): browsers keep up to 4096 bytes.
SESSION_ID_MAX = 4096


def _text(value: Any, limit: int = 512) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= limit else None
