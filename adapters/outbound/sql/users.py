"""UserRepository over SQL."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.outbound.sql.convert import SqlRow, now_dt
from adapters.outbound.sql.errors import storage_errors
from adapters.outbound.sql.tables import users
from application.port_errors import Conflict
from domain.identity import Role, User

_COLUMNS = (users.c.id, users.c.username, users.c.role, users.c.active)


def _user(row: SqlRow) -> User:
    return User(id=row.id, username=row.username, role=Role(row.role), active=row.active)


@storage_errors
class SqlUserRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, user_id: int) -> User | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(*_COLUMNS).where(users.c.id == user_id))).first()
        return _user(row) if row is not None else None

    async def get_many(self, user_ids: Iterable[int]) -> dict[int, User]:
        unique = list(dict.fromkeys(user_ids))
        found: dict[int, User] = {}
        async with self._engine.connect() as conn:
            for i in range(0, len(unique), 10_000):  # under SQLite's and asyncpg's bound-parameter limits
                rows = await conn.execute(select(*_COLUMNS).where(users.c.id.in_(unique[i : i + 10_000])))
                found.update((row.id, _user(row)) for row in rows)
        return found

    async def get_by_username(self, username: str) -> User | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(*_COLUMNS).where(users.c.username == username))).first()
        return _user(row) if row is not None else None

    async def add(self, username: str, role: Role, active: bool = True) -> User:
        statement = (
            insert(users)
            .values(username=username, role=Role(role).value, active=active, created_at=now_dt())
            .returning(*_COLUMNS)
        )
        try:
            async with self._engine.begin() as conn:
                row = (await conn.execute(statement)).one()
        except IntegrityError as exc:
            raise Conflict(f"username {username!r} is taken") from exc
        return _user(row)

    async def set_active(self, user_id: int, active: bool) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(update(users).where(users.c.id == user_id).values(active=active))
