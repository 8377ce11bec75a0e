"""Connect and disconnect: authenticate from the session, enforce connection limits, announce to admins."""

from __future__ import annotations

from application.connections import Connection, ConnectionRegistry
from application.limits import Limits, connect_attempt_key, connection_slot_key
from application.outbox import Outbox
from application.ports import (
    AdminActivity,
    AnonymousSession,
    Clock,
    ConnectionSlotStore,
    RateLimitStore,
    SessionSource,
    Transport,
)
from application.security import SecurityEvents
from domain import events, messages
from domain.access import ADMIN_NAMESPACE, ADMIN_ROOM, authorize_connection, personal_room
from domain.errors import DomainError, ErrorCode
from domain.messages import Payload


class ConnectClient:
    def __init__(
        self,
        source: SessionSource,
        registry: ConnectionRegistry,
        rates: RateLimitStore,
        slots: ConnectionSlotStore,
        transport: Transport,
        outbox: Outbox,
        clock: Clock,
        limits: Limits,
        security: SecurityEvents,
        activity: AdminActivity | None = None,
    ) -> None:
        self._activity = activity  # None: announced before the connect is answered
        self._security = security
        self._source = source
        self._registry = registry
        self._rates = rates
        self._slots = slots
        self._transport = transport
        self._outbox = outbox
        self._clock = clock
        self._limits = limits

    async def __call__(
        self,
        sid: str,
        physical_id: str,
        namespace: str,
        session_id: str | None,
        csrf_token: str | None,
        ip: str,
        origin_proven: bool = False,
    ) -> Connection:
        """`origin_proven`: the handshake came from a browser page of an allowed origin (CSRF_MODE=origin),
        which proves the connection without a token; a token that is sent is checked all the same."""
        now = self._clock.now()
        attempt = await self._rates.hit(connect_attempt_key(ip), self._limits.connect_attempts, now)
        if not attempt.allowed:
            self._security.record("connect_rate_limited", ip=ip)
            raise DomainError(
                ErrorCode.RATE_LIMIT_EXCEEDED,
                "Too many connection attempts from this address",
                limit=attempt.limit,
                remaining=attempt.remaining,
                reset_time=messages.iso_utc(attempt.reset_at),
            )
        if not session_id:
            raise DomainError(ErrorCode.AUTH_REQUIRED, "Authentication required for WebSocket connection")
        try:
            found = await self._source.resolve(session_id)
        except AnonymousSession:
            raise DomainError(ErrorCode.AUTH_REQUIRED, "Authentication required for WebSocket connection") from None
        session, user = found if found is not None else (None, None)
        try:
            user = authorize_connection(session, user, namespace, now)
        except DomainError as err:
            self._security.record("auth_refused", ip=ip, code=err.code.value, namespace=namespace)
            raise
        assert session is not None
        csrf_proven = origin_proven
        if csrf_token is not None:
            if not self._source.csrf_matches(csrf_token, session.csrf_token):
                self._security.record("csrf_refused", ip=ip, user_id=user.id, at="connect")
                raise DomainError(ErrorCode.CSRF_TOKEN_INVALID, "The CSRF token does not match the session")
            csrf_proven = True
        holder = self._registry.physical_user(physical_id)
        if holder is not None and holder != user.id:
            # Slots are held per (user, physical connection): a second identity would share one it does not own.
            self._security.record("second_identity", ip=ip, user_id=user.id, holder=holder, namespace=namespace)
            raise DomainError(
                ErrorCode.CONNECTION_REFUSED,
                "This connection is already signed in as another user: open a separate connection",
            )
        if holder is None:
            key = connection_slot_key(user.id)
            if not await self._slots.acquire(key, physical_id, self._limits.connections_per_user, now):
                self._security.record("connection_limit", ip=ip, user_id=user.id)
                raise DomainError(
                    ErrorCode.CONNECTION_LIMIT_EXCEEDED,
                    f"At most {self._limits.connections_per_user} concurrent connections per user",
                    limit=self._limits.connections_per_user,
                )
        conn = Connection(
            sid=sid,
            physical_id=physical_id,
            namespace=namespace,
            user=user,
            session_id=session.id,
            csrf_token=None if csrf_proven else session.csrf_token,
            expires_at=session.expires_at,
        )
        self._registry.add(conn)
        room = ADMIN_ROOM if namespace == ADMIN_NAMESPACE else personal_room(user.id)
        await self._transport.enter_room(sid, room, namespace)
        await _announce(
            self._activity,
            self._outbox,
            messages.user_activity(user, "connected", {"namespace": namespace, "ip": ip}),
        )
        return conn


async def _announce(activity: AdminActivity | None, outbox: Outbox, payload: Payload) -> None:
    if activity is None:
        await outbox.to_admins(events.USER_ACTIVITY_UPDATE, payload)
    else:
        activity.announce(payload)


class DisconnectClient:
    def __init__(
        self,
        registry: ConnectionRegistry,
        slots: ConnectionSlotStore,
        outbox: Outbox,
        activity: AdminActivity | None = None,
    ) -> None:
        self._registry = registry
        self._slots = slots
        self._outbox = outbox
        self._activity = activity

    async def __call__(self, sid: str, reason: str) -> None:
        conn, last_on_physical = self._registry.remove(sid)
        if conn is None:
            return
        if last_on_physical:
            await self._slots.release(connection_slot_key(conn.user.id), conn.physical_id)
        await _announce(
            self._activity,
            self._outbox,
            messages.user_activity(conn.user, "disconnected", {"namespace": conn.namespace, "reason": reason}),
        )


class EndConnections:
    """Tells sockets whose session died why (`auth_error`) and disconnects them."""

    def __init__(self, registry: ConnectionRegistry, transport: Transport, outbox: Outbox, login_url: str) -> None:
        self._registry = registry
        self._transport = transport
        self._outbox = outbox
        self._login_url = login_url

    async def for_sessions(self, session_ids: set[str]) -> int:
        ended = 0
        for conn in list(self._registry.for_sessions(session_ids)):
            await self.end(conn)
            ended += 1
        return ended

    async def end(self, conn: Connection, demoted: bool = False) -> None:
        conn.revoked = True
        err = (
            DomainError(ErrorCode.AUTH_INSUFFICIENT_PRIVILEGES, "Admin privileges are required for this namespace")
            if demoted
            else DomainError(ErrorCode.AUTH_INVALID_SESSION, "Invalid session or expired credentials")
        )
        payload = self._outbox.stamp(messages.auth_error(err, self._login_url))
        await self._transport.send(conn.sid, events.AUTH_ERROR, payload, conn.namespace)
        await self._transport.disconnect(conn.sid, conn.namespace)
