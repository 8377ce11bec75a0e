"""SessionRepository over SQL; dead_among is one joined query, touch one UPDATE."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.outbound.sql.convert import SqlRow, to_dt, to_epoch
from adapters.outbound.sql.errors import storage_errors
from adapters.outbound.sql.tables import sessions, users
from application.port_errors import Conflict, NotFound
from domain.identity import Session

# Keeps each statement under SQLite's and asyncpg's bound-parameter limits (32766 / 32767).
_CHUNK = 10_000


def _session(row: SqlRow) -> Session:
    return Session(
        id=row.id,
        user_id=row.user_id,
        csrf_token=row.csrf_token,
        created_at=to_epoch(row.created_at),
        last_seen_at=to_epoch(row.last_seen_at),
        expires_at=to_epoch(row.expires_at),
        revoked=row.revoked,
    )


def _chunks(ids: Iterable[str]) -> list[list[str]]:
    unique = list(dict.fromkeys(ids))
    return [unique[i : i + _CHUNK] for i in range(0, len(unique), _CHUNK)]


@storage_errors
class SqlSessionRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, session_id: str) -> Session | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(sessions).where(sessions.c.id == session_id))).first()
        return _session(row) if row is not None else None

    async def get_many(self, session_ids: Iterable[str]) -> dict[str, Session]:
        found: dict[str, Session] = {}
        async with self._engine.connect() as conn:
            for chunk in _chunks(session_ids):
                for row in await conn.execute(select(sessions).where(sessions.c.id.in_(chunk))):
                    found[row.id] = _session(row)
        return found

    async def add(self, session: Session) -> None:
        statement = insert(sessions).values(
            id=session.id,
            user_id=session.user_id,
            csrf_token=session.csrf_token,
            created_at=to_dt(session.created_at),
            last_seen_at=to_dt(session.last_seen_at),
            expires_at=to_dt(session.expires_at),
            revoked=session.revoked,
        )
        async with self._engine.begin() as conn:
            # Tell a missing user from a duplicate id the same way the in-memory twin does.
            if (await conn.execute(select(users.c.id).where(users.c.id == session.user_id))).first() is None:
                raise NotFound(f"no user {session.user_id}")
            try:
                await conn.execute(statement)
            except IntegrityError as exc:
                raise Conflict("a session with this id exists") from exc

    async def revoke(self, session_id: str) -> bool:
        async with self._engine.begin() as conn:
            result = await conn.execute(update(sessions).where(sessions.c.id == session_id).values(revoked=True))
        return result.rowcount == 1

    async def touch(self, session_ids: Iterable[str], now: float) -> None:
        seen = to_dt(now)
        async with self._engine.begin() as conn:
            for chunk in _chunks(session_ids):
                await conn.execute(
                    update(sessions)
                    .where(sessions.c.id.in_(chunk), sessions.c.last_seen_at < seen)
                    .values(last_seen_at=seen)
                )

    async def dead_among(self, session_ids: Iterable[str], now: float) -> set[str]:
        moment = to_dt(now)
        dead: set[str] = set()
        async with self._engine.connect() as conn:
            for chunk in _chunks(session_ids):
                live = (
                    select(sessions.c.id)
                    .join(users, users.c.id == sessions.c.user_id)
                    .where(
                        sessions.c.id.in_(chunk),
                        sessions.c.revoked.is_(False),
                        sessions.c.expires_at > moment,
                        users.c.active.is_(True),
                    )
                )
                alive = set((await conn.execute(live)).scalars())
                dead.update(set(chunk) - alive)
        return dead
