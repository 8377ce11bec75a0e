"""Fixtures of the integration tests: a real server, real clients against it.

The pyramid: socket-level tests run their server on SQLite. Postgres is exercised where it differs: by the
contract suites (tests/integration/contract/, every repository on memory, SQLite and Postgres), the
migrations, SQL health and host-users-table tests, and the fleet tests whose nodes share one Postgres.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.integration.databases import fresh_postgres_database
from tests.integration.emitted import violations
from tests.integration.harness import Server, serve, settings_for


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    """A served app on a fresh SQLite database (Postgres: see the module docstring)."""
    async with serve(settings_for(f"sqlite+aiosqlite:///{tmp_path / 'server.db'}")) as running:
        yield running


@pytest.fixture
async def sqlite_server(server: Server) -> Server:
    """The same server; the name older tests use for "the database is not the subject"."""
    return server


def _sync(url: str) -> str:
    return make_url(url).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def host_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    """(the Flask host app's sync URL, our async URL) of one host database, on SQLite and on Postgres."""
    if request.param == "sqlite":
        path = tmp_path / "vedfolnir.db"
        yield f"sqlite:///{path}", f"sqlite:///{path}"  # HOST_DATABASE_URL as Vedfolnir has it: a sync driver
    else:
        async with fresh_postgres_database() as url:
            yield _sync(url), url


@pytest.fixture
def sqlite_host_db(tmp_path: Path) -> tuple[str, str]:
    """A host database on SQLite, for socket-level tests (the Postgres table: test_host_users_table.py)."""
    path = tmp_path / "vedfolnir.db"
    return f"sqlite:///{path}", f"sqlite:///{path}"


@pytest.fixture(scope="session", autouse=True)
def emitted_payloads_match_the_asyncapi_document() -> Iterator[None]:
    """After the run: every payload a harness client received is one the AsyncAPI document describes."""
    yield
    problems = violations()
    assert not problems, "payloads the AsyncAPI document does not allow:\n" + "\n".join(problems[:50])
