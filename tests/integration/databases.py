"""Throwaway Postgres databases for tests: each test gets its own (empty or migrated), dropped afterwards."""

from __future__ import annotations

import atexit
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import psycopg
from sqlalchemy.engine import make_url

from adapters.outbound.sql.engine import migrate

POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
_templates: dict[str, str] = {}


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _drop_statement(name: str) -> str:
    return f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'


async def _admin(url: str, statement: str) -> None:
    """Runs `statement` on the server of `url`, outside a transaction (as CREATE and DROP DATABASE need)."""
    admin = await asyncpg.connect(_dsn(url))
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


def _drop_at_exit(url: str, name: str) -> None:
    """Drops `name` when the test process exits (with psycopg: asyncpg needs a loop, and none runs by then)."""

    def drop() -> None:
        with psycopg.connect(_dsn(url), autocommit=True) as admin:
            admin.execute(_drop_statement(name))

    atexit.register(drop)


async def _template(url: str) -> str:
    """A database at the newest schema on the server of `url`, to copy with CREATE DATABASE ... TEMPLATE: Postgres
    copies it as fast as it creates an empty one, where Alembic takes ~50 ms of CPU (several times that beside the
    suite's other workers). One per test process: a template may have no other session while it is copied."""
    if url not in _templates:
        name = f"t_template_{uuid.uuid4().hex[:12]}"
        await _admin(url, f'CREATE DATABASE "{name}"')
        _drop_at_exit(url, name)
        await migrate(make_url(url).set(database=name).render_as_string(hide_password=False))
        _templates[url] = name
    return _templates[url]


@asynccontextmanager
async def fresh_postgres_database(url: str = POSTGRES_URL, *, migrated: bool = False) -> AsyncIterator[str]:
    """A new database named for this test: empty, or `migrated` (a copy of a template at the newest schema).
    Postgres must be up: a test never skips it."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    template = f' TEMPLATE "{await _template(url)}"' if migrated else ""
    await _admin(url, f'CREATE DATABASE "{name}"{template}')
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        await _admin(url, _drop_statement(name))
