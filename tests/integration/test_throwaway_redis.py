"""The tests' own redis-server starts even when its first free port is taken meanwhile, and restarts on its port."""

from __future__ import annotations

import socket

import pytest
from redis.asyncio import Redis

from tests.integration.redis_server import ThrowawayRedis

pytestmark = pytest.mark.redis


async def test_a_taken_port_moves_the_first_start_and_a_restart_keeps_the_port() -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        server = ThrowawayRedis()
        server._use(taken)  # as if another process took the free port between the pick and the start
        await server.start()
        try:
            assert server.port != taken
            port = server.port
            await server.kill()
            await server.start()
            assert server.port == port
            client = Redis.from_url(server.url)
            assert await client.ping()
            await client.aclose()
        finally:
            await server.kill()
