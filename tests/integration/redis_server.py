"""A redis-server of a test's own, on a free port, that the test may kill and restart."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from collections.abc import AsyncIterator

from redis.asyncio import Redis

from tests.integration.processes import free_port


class ThrowawayRedis:
    """A redis-server of the test's own, without persistence, that the test may kill and restart."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not on PATH"
        self._proc = await asyncio.create_subprocess_exec(
            *[binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        probe = Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.2)
        try:
            deadline = time.monotonic() + 5
            while True:
                assert self._proc.returncode is None, "redis-server exited"
                with contextlib.suppress(Exception):
                    if await probe.ping():
                        return
                assert time.monotonic() < deadline, "redis-server did not answer within 5s"
                await asyncio.sleep(0.05)  # polling a condition: redis-server answers PING
        finally:
            await probe.aclose()

    async def kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            proc.kill()
            await asyncio.wait_for(proc.wait(), 5)


@contextlib.asynccontextmanager
async def throwaway_redis() -> AsyncIterator[ThrowawayRedis]:
    server = ThrowawayRedis()
    try:
        await server.start()
        yield server
    finally:
        await server.kill()
