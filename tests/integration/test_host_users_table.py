"""The host's `users` table read by our adapters, on SQLite and on Postgres (where `role` is a native enum).

The socket-level SESSION_SOURCE=flask tests run on SQLite; what differs on Postgres is how these two adapters
read the host's table, so that is what runs on both here.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from adapters.outbound.flask_sessions import FlaskCookieSessionSource
from adapters.outbound.host_users import HostUserDirectory
from adapters.outbound.memory.users import InMemoryUserRepository
from adapters.outbound.sql.engine import async_url, create_engine
from domain.identity import Role
from tests.integration.flask_host import HostApp, UserRole
from tests.integration.test_flask_sessions import SECRET


@pytest.fixture
async def host_app(host_db: tuple[str, str]) -> AsyncIterator[HostApp]:
    app = HostApp(host_db[0], SECRET)
    yield app
    app.engine.dispose()


async def test_the_directory_reads_every_role_and_activity_fresh_from_the_host_table(
    host_app: HostApp, host_db: tuple[str, str]
) -> None:
    ids = {role: host_app.add_user(role.name.lower(), role) for role in UserRole}
    engine = create_engine(async_url(host_db[0]))
    try:
        directory = HostUserDirectory(engine, InMemoryUserRepository(), None)
        found = await directory.get_many(ids.values())
        assert {found[ids[role]].role for role in UserRole} == set(Role)
        for role in UserRole:
            assert found[ids[role]].role is Role(role.value) and found[ids[role]].active is True
        viewer = ids[UserRole.VIEWER]
        named = await directory.get_by_username("viewer")
        assert named is not None and named.id == viewer
        host_app.set_active(viewer, False)
        host_app.set_role(viewer, UserRole.ADMIN)
        again = await directory.get(viewer)
        assert again is not None and again.active is False and again.role is Role.ADMIN
        assert await directory.get(max(ids.values()) + 1) is None
    finally:
        await engine.dispose()


async def test_the_cookie_source_resolves_a_login_and_rechecks_against_the_host_table(
    host_app: HostApp, host_db: tuple[str, str]
) -> None:
    alice = host_app.add_user("alice", UserRole.MODERATOR)
    bob = host_app.add_user("bob", UserRole.REVIEWER)
    cookies = {alice: host_app.login_cookie("alice"), bob: host_app.login_cookie("bob")}
    engine = create_engine(async_url(host_db[0]))
    try:
        source = FlaskCookieSessionSource(engine, SECRET)
        resolved = await source.resolve(cookies[alice])
        assert resolved is not None
        session, user = resolved
        assert session.user_id == alice and user is not None and user.role is Role.MODERATOR
        host_app.set_active(bob, False)
        host_app.set_role(alice, UserRole.VIEWER)
        check = await source.recheck(set(cookies.values()), time.time())
        assert check.dead == {cookies[bob]}
        assert check.users[cookies[alice]].role is Role.VIEWER
    finally:
        await engine.dispose()
