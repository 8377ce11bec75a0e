"""Small fake servers speaking the real wire formats of the outside services, on 127.0.0.1, for tests."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass(frozen=True, slots=True)
class Seen:
    """One request a fake server received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)


class FakeServer:
    """Subclasses list their routes in `routes()`; `start()` returns the base URL, `stop()` shuts it down."""

    def __init__(self) -> None:
        self.base_url = ""
        self.seen: list[Seen] = []
        self._runner: web.AppRunner | None = None

    def routes(self) -> list[web.RouteDef]:
        raise NotImplementedError

    async def start(self, port: int = 0) -> str:
        """Listens on `port` (0: any free one; a stopped fake's own port: it comes back where it was)."""
        app = web.Application(middlewares=[self._record])
        app.add_routes(self.routes())
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def hits(self, path_prefix: str) -> list[Seen]:
        """The requests that reached a path starting with `path_prefix`, in order."""
        return [seen for seen in self.seen if seen.path.startswith(path_prefix)]

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.seen.append(Seen(request.method, request.path, dict(request.query), dict(request.headers)))
        response: web.StreamResponse = await handler(request)
        return response


def unused_port() -> int:
    """A port nothing listens on (bound, then released), for connection-refused tests."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
