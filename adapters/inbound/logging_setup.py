"""The log format: one JSON object per line (LOG_FORMAT=json) or escaped human lines, each with its context.

Every record gets `node`, `sid`, `user_id`, `event` and `correlation_id` (null where unknown) from the
context the socket gateway, the job scheduler and the HTTP access log keep. Escaping of human lines and
the engine's packet logging are the security module's (`log_safety`); this module only picks and wires.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from pythonjsonlogger.json import JsonFormatter

from adapters.inbound.log_safety import EscapingFormatter
from adapters.observability import log_context
from domain.validation import correlation_id_of

HUMAN_FORMAT = (
    "%(asctime)s %(levelname)s %(name)s [%(node)s sid=%(sid)s user=%(user_id)s event=%(event)s corr=%(correlation_id)s] "
    "%(message)s"
)
CONTEXT_KEYS = ("node", "sid", "user_id", "event", "correlation_id")
ACCESS_LOGGER = "vedfolnir.access"


class ContextFilter(logging.Filter):
    """Adds the context keys to every record (a handler filter: it sees records of every logger)."""

    def __init__(self, node: str, user_of: Callable[[str], int | None] | None = None) -> None:
        super().__init__()
        self.node = node
        self.user_of = user_of

    def filter(self, record: logging.LogRecord) -> bool:
        values = record.__dict__
        values.setdefault("node", self.node)
        current = log_context.socket_event.get()
        work = log_context.work.get()
        sid = event = correlation_id = user_id = None
        if current is not None:
            sid, event, args = current
            correlation_id = correlation_id_of(args[0] if isinstance(args, tuple) and len(args) == 1 else None)
            if self.user_of is not None and sid is not None:
                user_id = self.user_of(sid)
        if work:
            for key, value in work.items():
                values.setdefault(key, value)
        values.setdefault("sid", sid)
        values.setdefault("user_id", user_id)
        values.setdefault("event", event if isinstance(event, str) else values.get("security_event"))
        values.setdefault("correlation_id", correlation_id)
        return True


def configure_logging(level: str, log_format: str, node: str, stream: Any = None) -> ContextFilter:
    """Replaces the root logger's handlers with one that writes `log_format` ("json" or "text") to stderr."""
    if log_format not in ("json", "text"):
        raise ValueError("LOG_FORMAT is 'json' (one JSON object per line) or 'text' (human-readable lines)")
    handler = logging.StreamHandler(stream or sys.stderr)
    context = ContextFilter(node)
    handler.addFilter(context)
    if log_format == "json":
        handler.setFormatter(
            JsonFormatter(
                "{levelname}{name}{message}",
                style="{",
                rename_fields={"levelname": "level", "name": "logger"},
                timestamp="time",  # ISO 8601 in UTC
                json_ensure_ascii=False,
            )
        )
    else:
        handler.setFormatter(EscapingFormatter(HUMAN_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    return context


def bind_user_lookup(user_of: Callable[[str], int | None]) -> None:
    """Lets records written while a socket's event runs carry its user id (looked up only when logging)."""
    for handler in logging.getLogger().handlers:
        for context in handler.filters:
            if isinstance(context, ContextFilter):
                context.user_of = user_of


def access_logger(metrics: Any = None) -> type[AbstractAccessLogger]:
    """aiohttp's access logger class: one record per HTTP request (no query string, no body), and its metrics.

    The path is the route template (`/api/v1/sessions/{session_id}`), never the concrete path, which may
    hold a session id. Engine.IO requests are logged at DEBUG: a long-polling client makes one every few seconds.
    """

    class AccessLog(AbstractAccessLogger):
        def log(self, request: web.BaseRequest, response: web.StreamResponse, duration: float) -> None:
            route = _route(request)
            status = response.status
            if metrics is not None:
                metrics.http_request(route, request.method, status, duration)
            level = logging.DEBUG if route.startswith("/socket.io") else logging.INFO
            if not self.logger.isEnabledFor(level):
                return
            self.logger.log(
                level,
                "%s %s %d %.1f ms",
                request.method,
                route,
                status,
                duration * 1000,
                extra={
                    "event": "http_request",
                    "method": request.method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(duration * 1000, 2),
                    "remote": request.remote,
                    "correlation_id": _request_id(request),
                    "bytes": response.body_length,
                },
            )

        @property
        def enabled(self) -> bool:
            return True

    return AccessLog


def _route(request: web.BaseRequest) -> str:
    try:
        match_info = getattr(request, "match_info", None)
    except AssertionError:  # a request aiohttp could not parse (a 400) was never routed: match_info asserts
        return "(unmatched)"
    route = getattr(match_info, "route", None)
    resource = getattr(route, "resource", None)
    if resource is None:
        return "(unmatched)"
    canonical: str = resource.canonical
    return canonical


def _request_id(request: web.BaseRequest) -> str | None:
    given = request.headers.get("X-Request-ID")
    return correlation_id_of({"message_id": given}) if given else None
