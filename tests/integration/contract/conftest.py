"""The `backend` fixture: every contract test runs against memory, SQLite and Postgres."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapters.outbound.crypto import TokenCipher
from adapters.outbound.memory.credentials import InMemoryPlatformCredentials
from adapters.outbound.memory.jobs import InMemoryJobRepository
from adapters.outbound.memory.platforms import InMemoryPlatformRepository
from adapters.outbound.memory.reviews import InMemoryReviewRepository
from adapters.outbound.memory.sessions import InMemorySessionRepository
from adapters.outbound.memory.unit_of_work import InMemoryUnitOfWork
from adapters.outbound.memory.users import InMemoryUserRepository
from adapters.outbound.sql.credentials import SqlPlatformCredentials
from adapters.outbound.sql.engine import create_engine
from adapters.outbound.sql.jobs import SqlJobRepository
from adapters.outbound.sql.platforms import SqlPlatformRepository
from adapters.outbound.sql.reviews import SqlReviewRepository
from adapters.outbound.sql.sessions import SqlSessionRepository
from adapters.outbound.sql.unit_of_work import SqlUnitOfWork
from adapters.outbound.sql.users import SqlUserRepository
from application.ports import (
    JobRepository,
    PlatformCredentials,
    PlatformRepository,
    SessionRepository,
    UnitOfWork,
    UserRepository,
)
from application.review_ports import ReviewRepository
from tests.integration.databases import fresh_postgres_database
from tests.integration.migrated_sqlite import copy_migrated_sqlite


@dataclass
class Backend:
    name: str
    users: UserRepository
    sessions: SessionRepository
    platforms: PlatformRepository
    jobs: JobRepository
    reviews: ReviewRepository
    credentials: Callable[[TokenCipher], PlatformCredentials]
    """A credentials store over this backend's storage (the same storage on every call), with that cipher."""
    unit_of_work: Callable[[PlatformCredentials], UnitOfWork]
    """One transaction over this backend's platforms and that credentials store."""


def _memory() -> Backend:
    users = InMemoryUserRepository()
    platforms = InMemoryPlatformRepository(users)
    return Backend(
        "memory",
        users,
        InMemorySessionRepository(users),
        platforms,
        InMemoryJobRepository(),
        InMemoryReviewRepository(),
        _memory_credentials(),
        lambda store: InMemoryUnitOfWork(platforms, store),  # type: ignore[arg-type]
    )


def _memory_credentials() -> Callable[[TokenCipher], PlatformCredentials]:
    ciphertexts: dict[int, str] = {}

    def with_cipher(cipher: TokenCipher) -> PlatformCredentials:
        store = InMemoryPlatformCredentials(cipher)
        store._ciphertexts = ciphertexts  # one storage, whichever key reads it (as one SQL table)
        return store

    return with_cipher


@asynccontextmanager
async def _sql(name: str, url: str) -> AsyncIterator[Backend]:
    """The repositories over `url`, a database already at the newest schema."""
    engine = create_engine(url)
    try:
        yield Backend(
            name,
            SqlUserRepository(engine),
            SqlSessionRepository(engine),
            SqlPlatformRepository(engine),
            SqlJobRepository(engine),
            SqlReviewRepository(engine),
            lambda cipher: SqlPlatformCredentials(engine, cipher),
            lambda _store: SqlUnitOfWork(engine),
        )
    finally:
        await engine.dispose()


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "memory":
        yield _memory()
    elif request.param == "sqlite":
        await copy_migrated_sqlite(path := tmp_path / "contract.db")
        async with _sql("sqlite", f"sqlite+aiosqlite:///{path}") as sql:
            yield sql
    else:
        async with fresh_postgres_database(migrated=True) as url, _sql("postgres", url) as sql:
            yield sql
