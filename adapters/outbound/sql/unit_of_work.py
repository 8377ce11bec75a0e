"""The UnitOfWork port over SQL: one engine transaction that the SQL repositories' writes join while it is open."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.outbound.sql.errors import STORAGE_ERRORS, storage_failed

# The connection of the unit of work open in this task (context variables follow the awaits of one task).
_open: ContextVar[AsyncConnection | None] = ContextVar("sql_unit_of_work", default=None)


class SqlUnitOfWork:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        if _open.get() is not None:  # a block inside another joins it
            yield
            return
        try:
            async with self._engine.begin() as conn:
                token = _open.set(conn)
                try:
                    yield
                finally:
                    _open.reset(token)
        except STORAGE_ERRORS as exc:  # the commit itself failed
            raise storage_failed("SqlUnitOfWork.transaction", exc) from exc


@asynccontextmanager
async def writing(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """The open unit of work's connection when it is on this engine, else a transaction of the write's own."""
    conn = _open.get()
    if conn is not None and conn.engine is engine:
        yield conn
        return
    async with engine.begin() as own:
        yield own
