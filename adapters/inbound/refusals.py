"""Connect refusals, delivered the API reference's way: as events on an accepted connection, then a server disconnect.

The stock socket.io client drops everything on CONNECT_ERROR except `connect_error`, so a page's
`socket.on('auth_required' | 'auth_error' | 'error')` handlers only ever run for events that arrive on an
accepted connection. In REFUSAL_MODE=event (the default) a refused connection is therefore accepted
without being registered (no use case sees its events, it holds no connection slot, admins see no
activity), hears its refusal, and is disconnected by the server. REFUSAL_MODE=connect_error keeps the
CONNECT_ERROR answer (the payload in `err.data`). Either way the payload is the standard envelope.

Refusals for too many connect attempts always answer CONNECT_ERROR: a client over its attempt budget is
not let in at all. A client refused again and again (the reference's own `disconnect` handler calls
`socket.connect()` after every server disconnect) hears each refusal later than the one before
(RefusalBackoff), and past the streak limit gets CONNECTION_REFUSED as a CONNECT_ERROR, which the stock
client does not retry.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any, Literal

import socketio

from application.ports import Clock, TokenSource
from domain import events, messages
from domain.errors import DomainError, ErrorCode
from domain.refusals import RefusalBackoff

log = logging.getLogger("vedfolnir.socket")

RefusalMode = Literal["event", "connect_error"]
_AT_THE_DOOR = frozenset({ErrorCode.RATE_LIMIT_EXCEEDED})


class RefusalDelivery:
    def __init__(
        self,
        sio: socketio.AsyncServer,
        clock: Clock,
        tokens: TokenSource,
        login_url: str,
        mode: RefusalMode = "event",
        backoff: RefusalBackoff | None = None,
    ) -> None:
        if mode not in ("event", "connect_error"):
            raise ValueError("REFUSAL_MODE is 'event' or 'connect_error'")
        self._sio = sio
        self._clock = clock
        self._tokens = tokens
        self._login_url = login_url
        self.mode = mode
        self._backoff = backoff if backoff is not None else RefusalBackoff()
        self._pending: dict[tuple[str, str], tuple[str, dict[str, Any], float]] = {}

    def payload(self, err: DomainError, namespace: str) -> tuple[str, dict[str, Any]]:
        """The event name and its payload (standard envelope, `event` inside too) for a refused connect."""
        if err.code is ErrorCode.AUTH_REQUIRED:
            payload, event = messages.auth_required(self._login_url, "connect"), events.AUTH_REQUIRED
        elif err.code is ErrorCode.CORS_CREDENTIALS_ERROR:
            # No cookie at all, so no session, whatever the cause: signed out (Flask deletes an emptied
            # session cookie), expired, or a page whose client lacks withCredentials. auth_required lets
            # the reference's redirect-to-login run; the code tells a developer the other cause.
            payload, event = messages.auth_error(err, self._login_url, "connect"), events.AUTH_REQUIRED
        elif err.code in (ErrorCode.AUTH_INVALID_SESSION, ErrorCode.AUTH_INSUFFICIENT_PRIVILEGES):
            payload, event = messages.auth_error(err, self._login_url, "connect"), events.AUTH_ERROR
        else:
            payload, event = messages.connection_refused(err), events.ERROR
        payload["error_details"]["namespace"] = namespace
        payload["event"] = event
        messages.stamp(payload, self._clock.now(), self._tokens.message_id())
        return event, payload

    def refuse(self, err: DomainError, *, eio_sid: str, namespace: str, client_key: str) -> None:
        """Raises ConnectionRefusedError (a CONNECT_ERROR answer), or returns to accept the connection and
        deliver the refusal right after the CONNECT answer (`after_connect`)."""
        event, payload = self.payload(err, namespace)
        if self.mode == "connect_error" or err.code in _AT_THE_DOOR:
            raise socketio.exceptions.ConnectionRefusedError(err.message, payload)
        delay = self._backoff.next(client_key, self._clock.now())
        if delay is None:
            hard = DomainError(
                ErrorCode.CONNECTION_REFUSED,
                "Refused repeatedly: this connection is not accepted again for now",
                refused_for=err.code.value,
            )
            raise socketio.exceptions.ConnectionRefusedError(hard.message, self.payload(hard, namespace)[1])
        if payload["retry_possible"]:  # a limit: worth trying again later, not by reconnecting at once
            payload["error_details"]["retry_later"] = True
        payload["retry_possible"] = False
        self._pending[(eio_sid, namespace)] = (event, payload, delay)

    async def after_connect(self, eio_sid: str, namespace: str) -> None:
        """Runs after every CONNECT answer: delivers a pending refusal, then disconnects the namespace.

        Runs on the client's own read loop (async_handlers=False): nothing the client sends meanwhile
        is read, let alone processed, before the disconnect.
        """
        pending = self._pending.pop((eio_sid, namespace), None)
        if pending is None:
            return
        event, payload, delay = pending
        sid = self._sio.manager.sid_from_eio_sid(eio_sid, namespace)
        if sid is None:
            return
        try:
            if delay > 0:
                await asyncio.sleep(delay)
            await self._sio.emit(event, payload, to=sid, namespace=namespace)
            await self._sio.disconnect(sid, namespace=namespace)
        except Exception:  # the client may be gone already; nothing else to undo
            log.debug("refusal delivery ended early", exc_info=True)

    def pending_count(self) -> int:
        return len(self._pending)


def client_key(ip: str, namespace: str, credential: str | None) -> str:
    """One refused client: its address, namespace and credential (hashed: keys never hold secrets)."""
    digest = hashlib.sha256(credential.encode()).hexdigest()[:16] if credential else "-"
    return f"{ip}|{namespace}|{digest}"
