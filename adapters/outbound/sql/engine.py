"""The async engine for a database URL, and Alembic migrations run programmatically."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

HERE = Path(__file__).resolve().parent
SQLITE_BUSY_TIMEOUT_MS = 5000


def create_engine(url: str) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, in_memory=parsed.database in (None, "", ":memory:"))
    return create_async_engine(url, pool_size=5, max_overflow=10, pool_pre_ping=True, pool_recycle=1800)


# The synchronous drivers a host app's URL names (Flask-SQLAlchemy's), and the async driver we use instead.
_ASYNC_DRIVERS = {
    ("sqlite", "pysqlite"): "sqlite+aiosqlite",
    ("postgresql", "psycopg2"): "postgresql+asyncpg",
    ("postgresql", "psycopg"): "postgresql+asyncpg",
    ("postgresql", "pg8000"): "postgresql+asyncpg",
}


def async_url(url: str) -> str:
    """The URL with its synchronous driver replaced by our async one (`postgresql://` -> `+asyncpg`).

    HOST_DATABASE_URL is naturally copied from the host app's own settings, which name sync drivers.
    """
    parsed = make_url(url)
    driver = _ASYNC_DRIVERS.get((parsed.get_backend_name(), parsed.get_driver_name()))
    if driver is None:
        return url
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def _sqlite_engine(url: str, in_memory: bool) -> AsyncEngine:
    options: dict[str, Any] = {}
    if in_memory:
        # Every new connection to :memory: is a new, empty database; share one.
        options["poolclass"] = StaticPool
    else:
        # SQLite serialises writers anyway; a small fixed pool keeps a burst of connects from opening
        # a dozen connections, each with its own thread and page cache that never shrink again.
        options.update(pool_size=3, max_overflow=0, pool_timeout=30)
    engine = create_async_engine(url, **options)

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def alembic_config(url: str) -> Config:
    config = Config(str(HERE / "alembic.ini"))
    config.set_main_option("script_location", str(HERE / "migrations"))
    # ConfigParser would read '%' in a password as interpolation.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def migrate(url: str) -> None:
    """Upgrades the database at `url` to the newest schema; a no-op when it is already there."""
    config = alembic_config(url)
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade, config)
    finally:
        await engine.dispose()


def _upgrade(connection: Connection, config: Config) -> None:
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
