"""The SessionSource of sessions this service issues itself (its sessions table, or memory)."""

from __future__ import annotations

import hmac

from application.ports import SessionCheck, SessionRepository, UserRepository
from domain.identity import Session, User


class StoredSessionSource:
    def __init__(self, sessions: SessionRepository, users: UserRepository) -> None:
        self._sessions = sessions
        self._users = users

    async def resolve(self, credential: str) -> tuple[Session, User | None] | None:
        session = await self._sessions.get(credential)
        if session is None:
            return None
        return session, await self._users.get(session.user_id)

    async def resolve_many(self, credentials: list[str]) -> dict[str, tuple[Session, User | None] | None]:
        """`resolve` for many credentials in two queries (the session cache's batched loads)."""
        found = await self._sessions.get_many(credentials)
        users = await self._users.get_many({s.user_id for s in found.values()})
        return {c: (found[c], users.get(found[c].user_id)) if c in found else None for c in credentials}

    def csrf_matches(self, presented: str, secret: str) -> bool:
        return hmac.compare_digest(presented.encode(), secret.encode())

    async def recheck(self, session_ids: set[str], now: float) -> SessionCheck:
        dead = await self._sessions.dead_among(session_ids, now)
        live = session_ids - dead
        if live:
            await self._sessions.touch(live, now)
        return SessionCheck(dead=dead, users={})
