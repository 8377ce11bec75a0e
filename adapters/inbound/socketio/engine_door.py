"""The route in front of the Engine.IO server: refusals before any engine work, then the stock `handle_request`."""

from __future__ import annotations

from typing import Any

import socketio
from aiohttp import web

from application.security import SecurityEvents
from application.stamping import Stamp
from domain import events, messages
from domain.errors import DomainError, ErrorCode

ENGINE_PATH = "/socket.io/"


class EngineDoor:
    """The aiohttp handler of /socket.io/: a foreign Origin, JSONP polling and a handshake over its budget are
    answered here in the documented error format; everything else goes to the engine's public `handle_request`.

    Checked in the route rather than an aiohttp middleware: a middleware wraps every request in objects that
    live as long as the request, which for a WebSocket is the whole connection (~1.6 KB each).
    """

    def __init__(self, engine: Any) -> None:
        self._engine = engine  # a GuardedEngine: origin_policy, handshake_guard and stamp set by the composition

    async def handle(self, request: web.Request) -> Any:
        engine = self._engine
        policy = getattr(engine, "origin_policy", None)
        if policy is not None:
            refusal = policy.refusal(request.headers.get("Origin"))
            if refusal is not None:
                return refusal
        query = request.query
        if "j" in query:
            return _no_jsonp(engine.stamp)
        sid = query.get("sid")
        if sid is not None and (sock := engine.sockets.get(sid)) is not None and sock.closed:
            del engine.sockets[sid]  # upstream's POST path would raise KeyError('Session is disconnected')
        guard = getattr(engine, "handshake_guard", None)
        if guard is not None and sid is None and request.method == "GET":
            refusal = await guard.refusal(request)
            if refusal is not None:
                return refusal
        return await engine.handle_request(request)


def attach(sio: socketio.AsyncServer, app: web.Application, path: str = ENGINE_PATH) -> None:
    """What `sio.attach(app)` does (GET, POST and OPTIONS on /socket.io/), with the door in front of the engine."""
    door = EngineDoor(sio.eio).handle
    app.router.add_get(path, door)
    app.router.add_post(path, door)
    app.router.add_route("OPTIONS", path, door)


class OriginPolicy:
    """Refuses a handshake from a foreign Origin (both transports) in the documented error format.

    Requests without an Origin header pass: they are not browsers, and Origin is not authentication.
    """

    def __init__(self, allowed: list[str] | str, security: SecurityEvents | None, stamp: Stamp) -> None:
        self._allowed = None if allowed == "*" else frozenset(allowed)
        self._security = security
        self._stamp = stamp

    def refusal(self, origin: str | None) -> web.Response | None:
        if origin is None or self._allowed is None or origin in self._allowed:
            return None
        if self._security is not None:
            self._security.record(
                "origin_refused", origin=origin[:200], fix="add it to SOCKETIO_CORS_ORIGINS if it is yours"
            )
        err = DomainError(ErrorCode.CORS_ORIGIN_NOT_ALLOWED, "Origin not in allowed CORS origins", origin=origin[:200])
        payload = self._stamp(messages.error(err, "handshake", None))
        return web.json_response({"event": events.ERROR, "data": payload}, status=403)


def _no_jsonp(stamp: Stamp) -> web.Response:
    """JSONP polling (`?j=`) is off: a <script> tag sends no Origin, so it would pass the origin check."""
    err = DomainError(ErrorCode.TRANSPORT_ERROR, "JSONP polling is not supported")
    payload = stamp(messages.error(err, "handshake", None))
    return web.json_response({"event": events.ERROR, "data": payload}, status=400)
