"""In-memory SessionRepository that consults the in-memory users for liveness."""

from __future__ import annotations

from collections.abc import Iterable

from adapters.outbound.memory.users import InMemoryUserRepository
from application.port_errors import Conflict, NotFound
from domain.identity import Session


class InMemorySessionRepository:
    def __init__(self, users: InMemoryUserRepository) -> None:
        self._users = users
        self._sessions: dict[str, Session] = {}

    async def get(self, session_id: str) -> Session | None:
        return self._sessions.get(session_id)

    async def get_many(self, session_ids: Iterable[str]) -> dict[str, Session]:
        return {i: self._sessions[i] for i in session_ids if i in self._sessions}

    async def add(self, session: Session) -> None:
        if session.id in self._sessions:
            raise Conflict("a session with this id exists")
        if await self._users.get(session.user_id) is None:
            raise NotFound(f"no user {session.user_id}")
        self._sessions[session.id] = session

    async def revoke(self, session_id: str) -> bool:
        session = self._sessions.get(session_id)
        if session is None:
            return False
        self._sessions[session_id] = session.revoke()
        return True

    async def touch(self, session_ids: Iterable[str], now: float) -> None:
        for session_id in session_ids:
            session = self._sessions.get(session_id)
            if session is not None:
                self._sessions[session_id] = session.seen(now)

    async def dead_among(self, session_ids: Iterable[str], now: float) -> set[str]:
        dead: set[str] = set()
        for session_id in set(session_ids):
            session = self._sessions.get(session_id)
            user = await self._users.get(session.user_id) if session is not None else None
            if session is None or not session.is_live(now) or user is None or not user.active:
                dead.add(session_id)
        return dead
