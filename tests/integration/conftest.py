"""Fixtures of the integration tests: a real server on SQLite or Postgres, real clients against it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.integration.databases import fresh_postgres_database
from tests.integration.emitted import violations
from tests.integration.harness import Server, serve, settings_for


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def server(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Server]:
    if request.param == "sqlite":
        async with serve(settings_for(f"sqlite+aiosqlite:///{tmp_path / 'server.db'}")) as running:
            yield running
    else:
        async with fresh_postgres_database() as url, serve(settings_for(url)) as running:
            yield running


@pytest.fixture
async def sqlite_server(tmp_path: Path) -> AsyncIterator[Server]:
    """For tests whose subject does not depend on the database."""
    async with serve(settings_for(f"sqlite+aiosqlite:///{tmp_path / 'server.db'}")) as running:
        yield running


@pytest.fixture(scope="session", autouse=True)
def emitted_payloads_match_the_asyncapi_document() -> Iterator[None]:
    """After the run: every payload a harness client received is one the AsyncAPI document describes."""
    yield
    problems = violations()
    assert not problems, "payloads the AsyncAPI document does not allow:\n" + "\n".join(problems[:50])
