"""A real server on a loopback port and real Socket.IO clients that record every event they receive."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import socketio
from aiohttp import web

import bootstrap
from tests.integration.emitted import record as record_emitted
from tests.integration.migrated_sqlite import copy_migrated_sqlite, sqlite_file


@dataclass
class Inbox:
    """Every event a client received, in order, with a way to wait for the next of a kind."""

    events: list[tuple[str, Any]] = field(default_factory=list)
    _cond: asyncio.Condition = field(default_factory=asyncio.Condition)
    _seen: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    async def put(self, event: str, data: Any) -> None:
        async with self._cond:
            self.events.append((event, data))
            self._cond.notify_all()

    def of(self, event: str) -> list[Any]:
        return [data for name, data in self.events if name == event]

    async def next(self, event: str, timeout: float = 15.0) -> Any:
        """The next `event` not yet returned by next()."""

        def ready() -> bool:
            return len(self.of(event)) > self._seen[event]

        async with self._cond:
            await asyncio.wait_for(self._cond.wait_for(ready), timeout)
        item = self.of(event)[self._seen[event]]
        self._seen[event] += 1
        return item

    async def until(self, event: str, predicate: Any, timeout: float = 20.0) -> Any:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            item = await self.next(event, max(remaining, 0.01))
            if predicate(item):
                return item


@dataclass
class Client:
    sio: socketio.AsyncClient
    namespace: str
    inbox: Inbox
    connect_error: Any = None
    refused_by_event: str | None = None  # the event that carried the refusal (REFUSAL_MODE=event)
    server_disconnected: asyncio.Event = field(default_factory=asyncio.Event)

    async def emit(self, event: str, data: Any = None) -> None:
        await self.sio.emit(event, data, namespace=self.namespace)

    async def call(self, event: str, data: Any = None, timeout: float = 5.0) -> Any:
        return await self.sio.call(event, data, namespace=self.namespace, timeout=timeout)

    async def close(self) -> None:
        # A polling client's disconnect waits for its pending long-poll (up to the ping interval): bound it.
        try:
            await asyncio.wait_for(self.sio.disconnect(), 2)
        except Exception:
            with contextlib.suppress(Exception):
                await self.sio.eio.disconnect(abort=True)


@dataclass
class Server:
    url: str
    container: bootstrap.Container
    settings: bootstrap.Settings

    async def session(self, username: str = "demo", ttl: float = 3600) -> Any:
        return await self.container.issue_session()(username, ttl)

    async def client(
        self,
        session: Any = None,
        namespace: str = "/",
        *,
        csrf: bool | str = True,
        via_cookie: bool = False,
        transports: list[str] | None = None,
        headers: dict[str, str] | None = None,
        expect_refusal: bool = False,
    ) -> Client:
        return await open_client(
            self.url,
            session,
            namespace,
            csrf=csrf,
            via_cookie=via_cookie,
            cookie_name=self.settings.session_cookie_name,
            transports=transports,
            headers=headers,
            expect_refusal=expect_refusal,
        )

    async def api(self, method: str, path: str, body: Any = None, token: str | None = "test-token") -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with (
            aiohttp.ClientSession() as http,
            http.request(method, self.url + path, json=body, headers=headers) as r,
        ):
            return r.status, await r.json()

    async def marker(self, client: Client, user_id: int) -> dict[str, Any]:
        """A positive barrier for absence checks: a notification to `user_id` sent now, awaited at `client`.

        Everything reaches a socket in the order it was sent, so anything wrongly sent to `client`
        before this call has arrived by the time it returns. Returns the marker notification.
        """
        status, sent = await self.api(
            "POST", "/api/v1/notifications", {"user_id": user_id, "title": "marker", "message": "marker"}
        )
        assert status == 202, sent
        return await client.inbox.until(  # type: ignore[no-any-return]
            "user_notification", lambda n: n["notification_id"] == sent["notification_id"]
        )


async def open_client(
    url: str,
    session: Any = None,
    namespace: str = "/",
    *,
    csrf: bool | str = True,
    via_cookie: bool = False,
    cookie_name: str = "session",
    transports: list[str] | None = None,
    headers: dict[str, str] | None = None,
    expect_refusal: bool = False,
) -> Client:
    sio = socketio.AsyncClient(reconnection=False)
    inbox = Inbox()
    client = Client(sio, namespace, inbox)

    async def on_any(event: str, data: Any = None, *_offset: str) -> None:
        record_emitted(namespace, event, data)
        await inbox.put(event, data)

    async def on_connect_error(data: Any = None) -> None:
        client.connect_error = data
        if isinstance(data, dict) and isinstance(data.get("data"), dict):
            record_emitted(namespace, "connect_error", data["data"])

    async def on_disconnect(reason: Any = None) -> None:
        if reason == sio.reason.SERVER_DISCONNECT:
            client.server_disconnected.set()

    sio.on("*", on_any, namespace=namespace)
    sio.on("connect_error", on_connect_error, namespace=namespace)
    sio.on("disconnect", on_disconnect, namespace=namespace)
    auth: dict[str, Any] = {}
    all_headers = dict(headers or {})
    if session is not None:
        if via_cookie:
            all_headers["Cookie"] = f"{cookie_name}={session.id}"
        else:
            auth["session_id"] = session.id
        if csrf is True:
            auth["csrf_token"] = session.csrf_token
        elif isinstance(csrf, str):
            auth["csrf_token"] = csrf
    try:
        await sio.connect(
            url,
            namespaces=[namespace],
            auth=auth or None,
            headers=all_headers,
            transports=transports or ["websocket"],
            wait_timeout=5,
        )
    except socketio.exceptions.ConnectionError:
        if not expect_refusal:
            raise
        return client
    if expect_refusal:
        await _refusal_by_event(client)
    return client


REFUSAL_EVENTS = ("auth_required", "auth_error", "error")


async def _any_event(client: Client, timeout: float) -> None:
    async with client.inbox._cond:
        await asyncio.wait_for(client.inbox._cond.wait_for(lambda: bool(client.inbox.events)), timeout)


async def _refusal_by_event(client: Client) -> None:
    """REFUSAL_MODE=event: the refusal arrives as the first event, then the server disconnects.

    Sets `connect_error` to what REFUSAL_MODE=connect_error would have given ({message, data}), so a
    test of a refusal reads it the same way in both modes.
    """
    # python-socketio's client drops a DISCONNECT that arrives in the same long-polling payload as the
    # CONNECT answer (it is not `connected` yet); the browser's client does not. So over polling the
    # refusal event alone is waited for; the raw tests in test_refusals.py see the DISCONNECT itself.
    try:
        if client.sio.transport() == "polling":
            await _any_event(client, 15)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(client.server_disconnected.wait(), 0.5)
        else:
            await asyncio.wait_for(client.server_disconnected.wait(), 15)
    except TimeoutError:
        await client.close()
        raise AssertionError(f"the connection was accepted and not refused: {client.inbox.events}") from None
    first = client.inbox.events[0] if client.inbox.events else (None, None)
    assert first[0] in REFUSAL_EVENTS and len(client.inbox.events) == 1, client.inbox.events
    client.refused_by_event = first[0]
    client.connect_error = {"message": first[1]["message"], "data": first[1]}
    await client.close()


def settings_for(database_url: str, **overrides: Any) -> bootstrap.Settings:
    """The test defaults plus `overrides`; nothing from the environment the tests run in."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "demo_mode": True,
        "demo_posts": 6,
        "demo_caption_seconds": 0.05,
        "demo_page_delay": 0.0,
        "demo_failure_every": 5,
        "system_status_interval": 0.3,
        "session_check_interval": 0.2,
        "api_token": "test-token",
    }
    values.update(overrides)
    return bootstrap.ExplicitSettings(**values)


@contextlib.asynccontextmanager
async def serve(settings: bootstrap.Settings, prepare: Any = None) -> AsyncIterator[Server]:
    """A served app; `prepare(container)` may override providers before the app is built. A SQLite file that does
    not exist yet starts as a copy of a migrated one (the app's own migration then finds nothing to do)."""
    if (path := sqlite_file(settings.database_url)) is not None and not path.exists():
        await copy_migrated_sqlite(path)
    container = bootstrap.build_container(settings)
    if prepare is not None:
        prepare(container)
    app = bootstrap.build_app(container)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield Server(f"http://127.0.0.1:{port}", container, settings)
    finally:
        await runner.cleanup()
