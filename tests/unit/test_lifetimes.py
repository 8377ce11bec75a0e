"""The container's lifetimes: opened and closed by init/shutdown_resources, each closed after the parts using it."""

from __future__ import annotations

import asyncio

from composition.config import ExplicitSettings
from composition.container import build_container
from composition.lifecycle import running


def test_what_uses_a_connection_is_closed_before_it() -> None:
    container = build_container(ExplicitSettings(database_url="memory"))
    jobs = set(container.running_jobs.related)
    stores = (container.database, container.host_database, container.redis_connection, container.fanout)
    assert set(stores) | {container.http_sessions, container.listening} <= jobs
    assert {container.redis_connection, container.fanout} <= set(container.listening.related)


def test_running_opens_and_closes_every_lifetime() -> None:
    container = build_container(ExplicitSettings(database_url="memory"))
    lifetimes = list(container.traverse(types=[type(container.database)]))
    assert len(lifetimes) == 7

    async def body() -> list[bool]:
        async with running(container):
            opened = [lifetime.initialized for lifetime in lifetimes]
        return opened

    assert all(asyncio.run(body()))
    assert not any(lifetime.initialized for lifetime in lifetimes)
