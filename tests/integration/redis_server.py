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
    """A redis-server of the test's own, without persistence, that the test may kill and restart.

    redis-server cannot bind port 0 and report it (port 0 turns TCP off), so the first start picks a free
    port and, should another process take it meanwhile, tries another; a restart must reuse its port
    (that is the scenario: clients reconnect to the same address). Only our own process counts as
    started: the server that answers must have our process id.
    """

    def __init__(self) -> None:
        self._use(free_port())
        self._proc: asyncio.subprocess.Process | None = None
        self._started = False

    def _use(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"

    async def start(self) -> None:
        for _ in range(3):
            if await self._start_once():
                self._started = True
                return
            assert not self._started, "redis-server could not bind its port again"
            self._use(free_port())
        raise AssertionError("redis-server did not start on three free ports")

    async def _start_once(self) -> bool:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not on PATH"
        proc = self._proc = await asyncio.create_subprocess_exec(
            *[binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        probe = Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.2)
        try:
            deadline = time.monotonic() + 5
            while True:
                if proc.returncode is not None:
                    return False  # it exited: the port was taken
                assert time.monotonic() < deadline, "redis-server did not answer within 5s"
                with contextlib.suppress(Exception):
                    if (await asyncio.wait_for(probe.info("server"), 0.5))["process_id"] == proc.pid:
                        return True
                await asyncio.sleep(0.05)  # polling a condition: our redis-server answers
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
