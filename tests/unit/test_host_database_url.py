"""HOST_DATABASE_URL as the host app has it (a sync driver) is served by our async drivers."""

from __future__ import annotations

import pytest

from adapters.outbound.sql.engine import async_url


@pytest.mark.parametrize(
    ("given", "used"),
    [
        (
            "postgresql://vedfolnir:s%40cret@db:5432/vedfolnir",
            "postgresql+asyncpg://vedfolnir:s%40cret@db:5432/vedfolnir",
        ),
        ("postgresql+psycopg2://u@db/v", "postgresql+asyncpg://u@db/v"),
        ("postgresql+psycopg://u@db/v", "postgresql+asyncpg://u@db/v"),
        ("sqlite:///instance/vedfolnir.db", "sqlite+aiosqlite:///instance/vedfolnir.db"),
        ("postgresql+asyncpg://u@db/v", "postgresql+asyncpg://u@db/v"),
        ("sqlite+aiosqlite:///v.db", "sqlite+aiosqlite:///v.db"),
    ],
)
def test_sync_drivers_become_async_ones(given: str, used: str) -> None:
    assert async_url(given) == used
