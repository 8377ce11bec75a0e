"""Storage: the database engines and every repository over them (SQL, or process memory for DATABASE_URL=memory)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from dependency_injector import containers, providers
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.observability.metered import time_statements
from adapters.observability.metrics import Metrics
from adapters.outbound.crypto import TokenCipher
from adapters.outbound.flask_sessions import FlaskCookieSessionSource
from adapters.outbound.host_users import HostUserDirectory
from adapters.outbound.memory.credentials import InMemoryPlatformCredentials
from adapters.outbound.memory.jobs import InMemoryJobRepository
from adapters.outbound.memory.platforms import InMemoryPlatformRepository
from adapters.outbound.memory.reviews import InMemoryReviewRepository
from adapters.outbound.memory.sessions import InMemorySessionRepository
from adapters.outbound.memory.unit_of_work import InMemoryUnitOfWork
from adapters.outbound.memory.users import InMemoryUserRepository
from adapters.outbound.session_cache import CachedSessionSource
from adapters.outbound.sql.credentials import SqlPlatformCredentials
from adapters.outbound.sql.engine import async_url, create_engine, migrate
from adapters.outbound.sql.health import SqlHealthProbe
from adapters.outbound.sql.jobs import SqlJobRepository
from adapters.outbound.sql.platforms import SqlPlatformRepository
from adapters.outbound.sql.reviews import SqlReviewRepository
from adapters.outbound.sql.sessions import SqlSessionRepository
from adapters.outbound.sql.unit_of_work import SqlUnitOfWork
from adapters.outbound.sql.users import SqlUserRepository
from adapters.outbound.stored_sessions import StoredSessionSource
from composition.config import MEMORY, Settings


def _engine(url: str, metrics: Metrics) -> AsyncEngine | None:
    if url == MEMORY:
        return None
    engine = create_engine(url)
    time_statements(engine, metrics.db_latency)
    return engine


def _host_engine(settings: Settings) -> AsyncEngine:
    assert settings.host_database_url is not None  # Settings refuses SESSION_SOURCE=flask without it
    return create_engine(async_url(settings.host_database_url))  # Vedfolnir's own URL names a sync driver


def _flask_sessions(settings: Settings, engine: AsyncEngine) -> FlaskCookieSessionSource:
    return FlaskCookieSessionSource(
        engine,
        settings.flask_secret_key or "",
        settings.flask_secret_key_fallbacks,
        settings.flask_session_lifetime,
        settings.wtf_csrf_secret_key,
        settings.wtf_csrf_time_limit,
    )


async def database(settings: Settings, engine: AsyncEngine | None) -> AsyncIterator[AsyncEngine | None]:
    """Our database's lifetime: migrated at start (AUTO_MIGRATE), its pool closed at the end."""
    if engine is not None and settings.auto_migrate:
        await migrate(settings.database_url)
    yield engine
    if engine is not None:
        await engine.dispose()


async def host_database(settings: Settings, engine: Callable[[], AsyncEngine]) -> AsyncIterator[None]:
    """The host's database (SESSION_SOURCE=flask): its pool, if one was opened, is closed at the end."""
    yield None
    if settings.session_source == "flask":
        await engine().dispose()


class Storage(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    metrics = providers.Dependency(instance_of=Metrics)
    clock: providers.Dependency[Any] = providers.Dependency()
    backend = providers.Callable(lambda s: s.backend, settings)

    engine = providers.Singleton(_engine, settings.provided.database_url, metrics)
    memory_users = providers.Singleton(InMemoryUserRepository)
    own_users = providers.Selector(backend, memory=memory_users, sql=providers.Singleton(SqlUserRepository, engine))
    host_engine = providers.Singleton(_host_engine, settings)
    # With SESSION_SOURCE=flask, users (ids, names, roles) are the host's: see adapters/outbound/host_users.py.
    users = providers.Selector(
        providers.Callable(lambda s: s.session_source, settings),
        own=own_users,
        flask=providers.Singleton(HostUserDirectory, host_engine, own_users, engine),
    )
    sessions = providers.Selector(
        backend,
        memory=providers.Singleton(InMemorySessionRepository, memory_users),
        sql=providers.Singleton(SqlSessionRepository, engine),
    )
    platforms = providers.Selector(
        backend,
        memory=providers.Singleton(InMemoryPlatformRepository, users),  # the foreign key to users, as in SQL
        sql=providers.Singleton(SqlPlatformRepository, engine),
    )
    jobs = providers.Selector(
        backend,
        memory=providers.Singleton(InMemoryJobRepository),
        sql=providers.Singleton(SqlJobRepository, engine),
    )
    reviews = providers.Selector(
        backend,
        memory=providers.Singleton(InMemoryReviewRepository),
        sql=providers.Singleton(SqlReviewRepository, engine),
    )
    cipher = providers.Singleton(TokenCipher, settings.provided.platform_token_key)
    credentials = providers.Selector(
        backend,
        memory=providers.Singleton(InMemoryPlatformCredentials, cipher),
        sql=providers.Singleton(SqlPlatformCredentials, engine, cipher),
    )
    # One transaction around writes to several repositories (ConnectPlatform: the connection and its token).
    unit_of_work = providers.Selector(
        backend,
        memory=providers.Singleton(InMemoryUnitOfWork, platforms, credentials),
        sql=providers.Singleton(SqlUnitOfWork, engine),
    )
    health_probes = providers.Selector(
        backend, memory=providers.List(), sql=providers.List(providers.Singleton(SqlHealthProbe, engine))
    )

    session_source_kind = providers.Callable(lambda s: s.session_source, settings)
    uncached_session_source = providers.Selector(
        session_source_kind,
        own=providers.Singleton(StoredSessionSource, sessions, users),
        flask=providers.Singleton(_flask_sessions, settings, host_engine),
    )
    # Every connect asks this node's view first (see session_cache.py): no round trip for a known session.
    session_source = providers.Singleton(
        CachedSessionSource, uncached_session_source, clock, settings.provided.session_check_interval
    )
