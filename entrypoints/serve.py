"""`vedfolnir-realtime serve`: the app built from the settings, served until SIGTERM/SIGINT, then drained."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from typing import Any

from aiohttp import web

from adapters.inbound.drain import DRAIN_KEY
from adapters.inbound.http_refusal import RefusingAppRunner
from adapters.inbound.logging_setup import ACCESS_LOGGER, access_logger
from adapters.inbound.metrics_http import METRICS_KEY
from composition.app import build_app
from composition.config import Settings
from composition.container import build_container


def serve(settings: Settings, host: str | None = None, port: int | None = None, demo: bool = False) -> int:
    """Port 0 lets the OS pick one; the `listening on` line names it."""
    host = host or settings.flask_host
    port = settings.flask_port if port is None else port
    listener = None
    if port == 0:  # bound once here, so the default allowed origins below name the real port
        listener = socket.create_server((host, 0))
        port = listener.getsockname()[1]
    # The default allowed origin is the served address, so pages served here can open sockets.
    update: dict[str, Any] = {"flask_host": host, "flask_port": port}
    if demo:
        update["demo_mode"] = True
    settings = settings.model_copy(update=update)
    app = build_app(build_container(settings))
    print(f"vedfolnir-realtime serving on http://{host}:{port} (Socket.IO at /socket.io/)", flush=True)
    asyncio.run(_serve_until_stopped(app, host, port, listener))
    return 0


async def _serve_until_stopped(app: web.Application, host: str, port: int, listener: socket.socket | None) -> None:
    """Serves until SIGTERM or SIGINT, then drains (adapters/inbound/drain.py) and exits."""
    drain = app[DRAIN_KEY]
    runner = RefusingAppRunner(
        app,
        handle_signals=False,
        access_log=logging.getLogger(ACCESS_LOGGER),
        access_log_class=access_logger(app.get(METRICS_KEY)),
        shutdown_timeout=drain.drain_seconds,
    )
    await runner.setup()
    site: web.BaseSite = web.SockSite(runner, listener) if listener is not None else web.TCPSite(runner, host, port)
    await site.start()
    for address in runner.addresses:
        print(f"vedfolnir-realtime listening on http://{address[0]}:{address[1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
        await drain(site.stop)
    finally:
        # What is left of the drain time for HTTP requests still running; aiohttp's runner reads this
        # private field at cleanup (its public setting is fixed at construction).
        runner._shutdown_timeout = max(drain.remaining(), 0.5) if drain.active else 1.0
        await runner.cleanup()
