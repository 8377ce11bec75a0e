"""Issue, revoke and sweep sessions: dead sessions lose their sockets without a query per event."""

from __future__ import annotations

import logging
from typing import Any

from application.connect import EndConnections
from application.connections import ConnectionRegistry
from application.ports import (
    Clock,
    RevocationBroadcast,
    SessionRepository,
    SessionSource,
    TokenSource,
    UserRepository,
)
from domain.access import ADMIN_NAMESPACE
from domain.errors import DomainError, ErrorCode
from domain.events import ISSUE_SESSION_SCHEMA
from domain.identity import Role, Session, User, new_session, valid_username
from domain.validation import validate

log = logging.getLogger("vedfolnir.sessions")


class AddUser:
    def __init__(self, users: UserRepository) -> None:
        self._users = users

    async def __call__(self, username: str, role: Role, active: bool = True) -> User:
        if not valid_username(username):
            raise DomainError(ErrorCode.INVALID_MESSAGE, "Usernames are 1-100 letters, digits, '_' or '.'")
        if await self._users.get_by_username(username) is not None:
            raise DomainError(ErrorCode.CONFLICT, "That username is taken", username=username)
        return await self._users.add(username, role, active)


class IssueSession:
    def __init__(
        self,
        users: UserRepository,
        sessions: SessionRepository,
        tokens: TokenSource,
        clock: Clock,
        default_ttl: float = 86400.0,
    ) -> None:
        self._default_ttl = default_ttl
        self._users = users
        self._sessions = sessions
        self._tokens = tokens
        self._clock = clock

    async def from_request(self, body: Any) -> Session:
        fields = validate(ISSUE_SESSION_SCHEMA, body)
        return await self(fields["username"], fields.get("ttl_seconds"))

    async def __call__(self, username: str, ttl_seconds: float | None = None) -> Session:
        """A new session for the user, living `ttl_seconds` (default: the configured session lifetime)."""
        ttl_seconds = self._default_ttl if ttl_seconds is None else float(ttl_seconds)
        user = await self._users.get_by_username(username)
        if user is None or not user.active:
            raise DomainError(ErrorCode.NOT_FOUND, "No such active user", username=username)
        if not 0 < ttl_seconds <= 366 * 86400:
            raise DomainError(ErrorCode.INVALID_MESSAGE, "ttl must be between 1 second and a year")
        session = new_session(self._tokens.secret(), self._tokens.secret(), user, self._clock.now(), ttl_seconds)
        await self._sessions.add(session)
        return session


class RevokeSession:
    """Revokes in storage, then tells every node to end its sockets of the session at once."""

    def __init__(self, sessions: SessionRepository, broadcast: RevocationBroadcast) -> None:
        self._sessions = sessions
        self._broadcast = broadcast

    async def __call__(self, session_id: str) -> bool:
        found = await self._sessions.revoke(session_id)
        if found:
            try:
                await self._broadcast.publish({session_id})
            except Exception:  # storage already says revoked: every node's sweep still ends the sockets
                log.warning("revocation broadcast failed; the session sweep will end the sockets", exc_info=True)
        return found


class SweepSessions:
    """Periodically: one check of every connected session; the dead ones get auth_error and are disconnected.

    Where the source reports a user's stored record (the host's users table), a role change applies at
    once: an admin demoted loses `/admin` (auth_error AUTH_INSUFFICIENT_PRIVILEGES), and the user's
    other connections act with the new role from their next event.
    """

    def __init__(self, registry: ConnectionRegistry, source: SessionSource, end: EndConnections, clock: Clock) -> None:
        self._registry = registry
        self._source = source
        self._end = end
        self._clock = clock

    async def __call__(self) -> int:
        ids = self._registry.session_ids()
        if not ids:
            return 0
        check = await self._source.recheck(ids, self._clock.now())
        ended = await self._end.for_sessions(check.dead) if check.dead else 0
        for conn in list(self._registry.for_sessions(set(check.users))):
            user = check.users[conn.session_id]
            if user == conn.user:
                continue
            if conn.namespace == ADMIN_NAMESPACE and not user.is_admin:
                await self._end.end(conn, demoted=True)
                ended += 1
            else:
                conn.user = user
        if ended:
            log.info("ended %d sockets (%d dead sessions)", ended, len(check.dead))
        return ended
