"""The checks every client event passes (session, size, rate, CSRF, schema) before its use case runs."""

from __future__ import annotations

import hmac
import html
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final

from application.connect import EndConnections
from application.connections import Connection, ConnectionRegistry
from application.limits import Limits, message_key
from application.outbox import Outbox
from application.port_errors import PortError
from application.ports import Clock, RateLimitStore
from application.security import SecurityEvents
from domain import events, messages
from domain.errors import DomainError, ErrorCode
from domain.messages import Payload
from domain.validation import Field, correlation_id_of, validate

log = logging.getLogger("vedfolnir.events")


@dataclass(frozen=True, slots=True)
class Reply:
    event: str
    payload: Payload


class Unanswered(Enum):
    """An event deliberately left without any answer (not even an empty ack)."""

    UNANSWERED = "unanswered"


UNANSWERED: Final = Unanswered.UNANSWERED

# After a rate-limit refusal is answered, further refusals to the same socket within this many seconds
# are dropped unanswered (counted, not logged): refusals must not be an amplifier.
REFUSAL_QUIET_SECONDS = 1.0

# A client event's use case: the caller's connection and the event's typed command (application/commands.py).
UseCase = Callable[[Connection, Any], Awaitable[Reply]]


def _fields(fields: dict[str, Any]) -> dict[str, Any]:
    return fields


@dataclass(frozen=True, slots=True)
class Route:
    schema: Mapping[str, Field]
    use_case: UseCase
    command: Callable[[dict[str, Any]], Any] = _fields  # validated fields -> the use case's typed command

    async def run(self, conn: Connection, data: Any) -> Reply:
        return await self.use_case(conn, self.command(validate(self.schema, data)))


class ClientEventGate:
    """Runs one client event through every check, then its use case; always answers, never raises."""

    def __init__(
        self,
        registry: ConnectionRegistry,
        routes: Mapping[str, Route],
        rates: RateLimitStore,
        end_connections: EndConnections,
        outbox: Outbox,
        clock: Clock,
        limits: Limits,
        measure: Callable[[Any], int],
        security: SecurityEvents,
        csrf_matches: Callable[[str, str], bool] | None = None,
    ) -> None:
        self._csrf_matches = csrf_matches or _same_token
        self._security = security
        self._registry = registry
        self._routes = routes
        self._rates = rates
        self._end = end_connections
        self._outbox = outbox
        self._clock = clock
        self._limits = limits
        self._measure = measure

    async def handle(
        self, sid: str, event: Any, args: tuple[Any, ...], ack: bool = True
    ) -> Payload | Unanswered | None:
        """The reply payload (also sent as an event), None when the socket was ended, or UNANSWERED.

        `ack`: whether the client asked for an ack; a rate-limit refusal is then answered by the ack only.
        """
        conn = self._registry.get(sid)
        if conn is None:
            return None
        now = self._clock.now()
        if not conn.session_live(now):
            await self._end.end(conn)
            return None
        data = args[0] if len(args) == 1 else (None if not args else args)
        correlation_id = correlation_id_of(data)
        name = html.escape(event) if isinstance(event, str) and len(event) <= 100 else None
        try:
            if self._measure(data) > self._limits.max_message_bytes:
                raise DomainError(
                    ErrorCode.MESSAGE_TOO_LARGE,
                    f"Messages are limited to {self._limits.max_message_bytes} bytes",
                    limit=self._limits.max_message_bytes,
                )
            decision = await self._rates.hit(message_key(conn.user.id), self._limits.messages, now)
            if not decision.allowed:
                if now < conn.refusal_quiet_until:
                    self._security.count("rate_limited")
                    return UNANSWERED
                conn.refusal_quiet_until = now + REFUSAL_QUIET_SECONDS
                self._security.record("rate_limited", user_id=conn.user.id, event=name)
                payload = self._outbox.stamp(messages.rate_limited(decision, name, conn.user.id), correlation_id)
                if not ack:
                    await self._outbox.to_socket(sid, conn.namespace, events.RATE_LIMIT_EXCEEDED, payload)
                return payload
            if len(args) > 1:
                raise DomainError(ErrorCode.INVALID_MESSAGE, "An event carries one JSON object at most")
            if conn.csrf_token is not None:
                self._check_csrf(conn, conn.csrf_token, data)
            route = self._routes.get(name) if name is not None else None
            if route is None:
                raise DomainError(ErrorCode.UNKNOWN_EVENT, "Unknown event", known_events=sorted(self._routes))
            reply = await route.run(conn, data)
        except DomainError as err:
            if err.code is ErrorCode.MESSAGE_TOO_LARGE:
                self._security.record("oversized_message", user_id=conn.user.id, event=name)
            elif err.code in (ErrorCode.INVALID_MESSAGE, ErrorCode.UNKNOWN_EVENT):
                self._security.record("invalid_message", user_id=conn.user.id, event=name, code=err.code.value)
            return await self._refuse(conn, err, name, correlation_id)
        except PortError as exc:  # the port's taxonomy, mapped once here for every socket event
            return await self._refuse(conn, exc.refusal(), name, correlation_id)
        except Exception:
            log.exception("event %s failed", name)
            internal = DomainError(ErrorCode.INTERNAL_ERROR, "The server could not handle this event")
            return await self._refuse(conn, internal, name, correlation_id)
        payload = self._outbox.stamp(reply.payload, correlation_id)
        await self._outbox.to_socket(sid, conn.namespace, reply.event, payload)
        return payload

    def _check_csrf(self, conn: Connection, expected: str, data: Any) -> None:
        token = data.get("csrf_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not self._csrf_matches(token, expected):
            self._security.record("csrf_refused", user_id=conn.user.id, at="event")
            raise DomainError(
                ErrorCode.CSRF_TOKEN_INVALID,
                "A valid csrf_token is required in the connect auth payload or in every event",
            )

    async def _refuse(
        self, conn: Connection, err: DomainError, name: str | None, correlation_id: str | None
    ) -> Payload:
        payload = self._outbox.stamp(messages.error(err, name, conn.user.id), correlation_id)
        await self._outbox.to_socket(conn.sid, conn.namespace, events.ERROR, payload)
        return payload


def _same_token(presented: str, secret: str) -> bool:
    return hmac.compare_digest(presented.encode(), secret.encode())
