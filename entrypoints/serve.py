"""`vedfolnir-realtime serve`: the app built from the settings, served by aiohttp until a signal stops it."""

from __future__ import annotations

import logging
import socket
from typing import Any

from aiohttp import web

from adapters.inbound.cli import announce_bound
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
    logged: dict[str, Any] = {
        "print": announce_bound,
        "access_log": logging.getLogger(ACCESS_LOGGER),
        "access_log_class": access_logger(app.get(METRICS_KEY)),
    }
    if listener is not None:
        web.run_app(app, sock=listener, **logged)
    else:
        web.run_app(app, host=host, port=port, **logged)
    return 0
