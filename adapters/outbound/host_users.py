"""The UserRepository of SESSION_SOURCE=flask: users are the host's (Vedfolnir's `users` table), by their ids.

Jobs, platform connections and reviews are keyed by user id, and our own `users` table is the target of
their foreign keys. So the first time a host user is looked up by id or name, a row with the same id is
put in our table (`host:{id}`, an anchor only: name, role and `is_active` are always read from the host).
Users added here (`users add`, the demo seed) go to our table only and are never found by name: their
ids may be host users' ids, so `platforms add NAME` only ever names a host user.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.outbound.flask_sessions import host_users, role_of
from adapters.outbound.sql.convert import now_dt
from adapters.outbound.sql.errors import storage_errors
from adapters.outbound.sql.tables import users as own_users_table
from application.ports import UserRepository
from domain.identity import Role, User

_CHUNK = 10_000  # under SQLite's and asyncpg's bound-parameter limits


@storage_errors
class HostUserDirectory:
    def __init__(self, host_engine: AsyncEngine, own: UserRepository, own_engine: AsyncEngine | None) -> None:
        self._host = host_engine
        self._own = own
        self._own_engine = own_engine  # None: in-memory repositories, which have no foreign keys
        self._anchored: set[int] = set()

    async def get(self, user_id: int) -> User | None:
        user = (await self._read(host_users.c.id.in_([user_id]))).get(user_id)
        if user is not None:
            await self._anchor(user)
        return user

    async def get_by_username(self, username: str) -> User | None:
        found = list((await self._read(host_users.c.username == username)).values())
        if not found:
            return None  # never one of our own rows: its id may be a host user's
        await self._anchor(found[0])
        return found[0]

    async def get_many(self, user_ids: Iterable[int]) -> dict[int, User]:
        wanted = list(dict.fromkeys(user_ids))
        found: dict[int, User] = {}
        for start in range(0, len(wanted), _CHUNK):
            found.update(await self._read(host_users.c.id.in_(wanted[start : start + _CHUNK])))
        return found

    async def add(self, username: str, role: Role, active: bool = True) -> User:
        """Our own row (the demo seed, `users add`); added once per name, so the demo seed stays idempotent."""
        existing = await self._own.get_by_username(username)
        return existing if existing is not None else await self._own.add(username, role, active)

    async def set_active(self, user_id: int, active: bool) -> None:
        await self._own.set_active(user_id, active)  # the host's table is the host's to change

    async def _read(self, where: object) -> dict[int, User]:
        found: dict[int, User] = {}
        async with self._host.connect() as conn:
            columns = (host_users.c.id, host_users.c.username, host_users.c.role, host_users.c.is_active)
            for row in await conn.execute(select(*columns).where(where)):  # type: ignore[arg-type]
                try:
                    role = role_of(row.role)
                except ValueError:
                    continue  # a role this service does not know grants nothing
                found[row.id] = User(id=row.id, username=row.username, role=role, active=bool(row.is_active))
        return found

    async def _anchor(self, user: User) -> None:
        """Our `users` row of this id, so our tables' foreign keys accept it (once per id and process)."""
        if self._own_engine is None or user.id in self._anchored:
            return
        table = own_users_table
        async with self._own_engine.connect() as conn:
            exists = (await conn.execute(select(table.c.id).where(table.c.id == user.id))).first()
        if exists is None:
            row = {"id": user.id, "username": f"host:{user.id}", "role": user.role.value, "active": True}
            try:
                async with self._own_engine.begin() as conn:
                    await conn.execute(insert(table).values(**row, created_at=now_dt()))
            except IntegrityError:  # another node anchored it meanwhile
                pass
        self._anchored.add(user.id)
