"""`GET /metrics` in Prometheus text format, on the HTTP port or on a port of its own (METRICS_PORT)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from adapters.inbound.http_refusal import RefusingAppRunner
from adapters.inbound.response_headers import nosniff
from adapters.observability.metrics import Metrics

METRICS_PATH = "/metrics"
METRICS_KEY = web.AppKey("vedfolnir_metrics", Metrics)


def metrics_handler(metrics: Metrics) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def scrape(_request: web.Request) -> web.Response:
        return web.Response(
            body=metrics.exposition(), headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"}
        )

    return scrape


def register_metrics(app: web.Application, metrics: Metrics) -> None:
    app.router.add_get(METRICS_PATH, metrics_handler(metrics))


async def serve_metrics(
    metrics: Metrics, host: str, port: int, handler_args: Mapping[str, Any] | None = None
) -> web.AppRunner:
    """A separate listener that serves only /metrics, with the main server's header limits (`handler_args`);
    the caller cleans the returned runner up."""
    app = web.Application(handler_args=handler_args)
    app.on_response_prepare.append(nosniff)
    register_metrics(app, metrics)
    runner = RefusingAppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
