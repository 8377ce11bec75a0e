"""The stock socket.io JavaScript client in a node process, driven line by line (tests/integration/node/driver.mjs)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("node") / "driver.mjs"

Line = dict[str, Any]


class NodeClient:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self._proc = proc
        self.lines: list[Line] = []
        self._cond = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self._proc.stdout is not None
        async for raw in self._proc.stdout:
            async with self._cond:
                self.lines.append(json.loads(raw))
                self._cond.notify_all()

    async def send(self, **command: Any) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write((json.dumps(command) + "\n").encode())
        await self._proc.stdin.drain()

    async def wait_for(self, predicate: Callable[[Line], bool], timeout: float = 10.0, since: int = 0) -> Line:
        """The first line from index `since` on that matches."""

        def found() -> Line | None:
            return next((line for line in self.lines[since:] if predicate(line)), None)

        async with self._cond:
            await asyncio.wait_for(self._cond.wait_for(lambda: found() is not None), timeout)
        line = found()
        assert line is not None
        return line

    def mark(self) -> int:
        return len(self.lines)

    def events(self, name: str | None = None, since: int = 0) -> list[Line]:
        return [
            line for line in self.lines[since:] if line["type"] == "event" and (name is None or line["event"] == name)
        ]

    def connects(self) -> list[Line]:
        return [line for line in self.lines if line["type"] == "connect"]

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await self.send(cmd="close")
        try:
            await asyncio.wait_for(self._proc.wait(), 5)
        except TimeoutError:
            self._proc.kill()
            await self._proc.wait()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


@contextlib.asynccontextmanager
async def node_client() -> AsyncIterator[NodeClient]:
    assert (ROOT / "node_modules" / "socket.io-client").is_dir(), "run `make install` (npm ci) first"
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(DRIVER),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    client = NodeClient(proc)
    try:
        yield client
    finally:
        await client.stop()


def event(name: str) -> object:
    return lambda line: line["type"] == "event" and line["event"] == name


def offsets(lines: list[Line]) -> list[str]:
    return [line["offset"] for line in lines]


def assert_recovered_with_every_post(page: NodeClient, watcher: NodeClient, first: Line, posts: int) -> None:
    """`page` came back once with its old id, recovered, and saw what `watcher` saw: each post captioned once."""
    again = page.connects()[-1]
    assert len(page.connects()) == 2
    assert again["recovered"] is True and again["id"] == first["id"]
    assert offsets(page.events()) == offsets(watcher.events())
    generated = [e["data"]["post_id"] for e in page.events("caption_generated")]
    assert len(generated) == len(set(generated)) == posts
