"""The served aiohttp application: Socket.IO at /socket.io/, the HTTP API, the pages, and the background loops."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiohttp import web

from adapters.inbound.api_docs.routes import register_api_docs
from adapters.inbound.client_address import ClientAddress
from adapters.inbound.drain import DRAIN_KEY, Drain
from adapters.inbound.gc_tuning import tune_after_startup
from adapters.inbound.handshake_guard import HandshakeGuard
from adapters.inbound.http_api import HttpApi, HttpUseCases
from adapters.inbound.job_pages import job_session_routes
from adapters.inbound.logging_setup import bind_user_lookup
from adapters.inbound.metrics_http import METRICS_KEY, register_metrics, serve_metrics
from adapters.inbound.pages import register_pages
from adapters.inbound.periodic import every
from adapters.inbound.refusals import RefusalDelivery
from adapters.inbound.response_headers import nosniff
from adapters.inbound.review_pages import review_session_routes
from adapters.inbound.socketio.engine_door import attach as attach_socketio
from adapters.inbound.socketio.gateway import SocketGateway
from adapters.inbound.socketio.recovery import RecoveryProtocol
from adapters.stopping import finish_within, stop_tasks
from composition.config import Settings
from composition.container import Container
from composition.lifecycle import running, start_publishing
from domain.access import ADMIN_NAMESPACE, USER_NAMESPACE
from domain.rate_limit import RateRule
from domain.refusals import RefusalBackoff

log = logging.getLogger("vedfolnir")


def build_app(container: Container) -> web.Application:
    """The served aiohttp application: Socket.IO at /socket.io/, the HTTP API and pages, and the background loops."""
    settings: Settings = container.settings()
    if settings.cors_wildcard:
        log.warning("CORS WILDCARD ENABLED: any web page may open sockets here. Never do this in production.")
    app = web.Application(
        client_max_size=1024 * 1024,
        # Header limits: a request past them is answered 400 before any handler (or handshake) sees it.
        handler_args=header_limits(settings),
    )
    app.on_response_prepare.append(nosniff)
    _socketio(container, app)
    _observe(container, app)
    _http(container, app)
    _background(container, app)
    return app


def header_limits(settings: Settings) -> dict[str, int]:
    """aiohttp's request-header limits (handler_args) for every listener we open."""
    return {"max_headers": settings.http_max_headers, "max_field_size": settings.http_max_field_size}


def _socketio(container: Container, app: web.Application) -> None:
    """The Socket.IO server at /socket.io/, with recovery, the handshake guard and the gateway to the use cases."""
    settings: Settings = container.settings()
    sio = container.sio()
    attach_socketio(sio, app)  # the route with the origin check and handshake guard in front of the engine
    if settings.recovery_enabled:
        sio.recovery = RecoveryProtocol(
            container.recovery(), container.registry(), container.logged_emitter(), (USER_NAMESPACE, ADMIN_NAMESPACE)
        )
    _guard_handshakes(container, sio)
    gateway = SocketGateway(
        sio,
        container.connect(),
        container.disconnect(),
        container.gate(),
        container.clock(),
        container.tokens(),
        settings.session_cookie_name,
        settings.login_url,
        settings.trusted_proxy_list,
        container.metrics(),
        refusals=RefusalDelivery(
            sio,
            container.clock(),
            container.tokens(),
            settings.login_url,
            settings.refusal_mode,
            RefusalBackoff(cap=settings.refusal_backoff_max_seconds, limit=settings.refusals_before_hard_refusal),
        ),
        csrf_mode=settings.csrf_mode,
        allowed_origins=settings.cors_origins,
        connect_timeout=settings.connect_check_timeout,
    )
    app[DRAIN_KEY] = Drain(
        sio,
        lambda: gateway.in_flight,
        lambda: _hand_jobs_back(container),
        readiness_seconds=settings.drain_readiness_seconds,
        drain_seconds=settings.drain_seconds,
        metrics=container.metrics(),
    )


async def _hand_jobs_back(container: Container) -> None:
    """Drain step 4: with Redis, released leases let another node (or a worker) continue at once; a lone
    inline node (no Redis) stops its jobs, and they resume when it, or a node on its database, next starts."""
    if container.jobs_mode() == "claimed":
        await container.inline_claims().hand_back()
        return
    stopping = container.scheduler().running
    await container.scheduler().close()
    if stopping:
        log.info(
            "draining: stopped %d running jobs; with no Redis they resume when a node on this database next starts",
            stopping,
        )


def _http(container: Container, app: web.Application) -> None:
    """The API documents, the host's HTTP API (/api/v1/...) and the pages (demo sign-in, review, jobs)."""
    settings: Settings = container.settings()
    register_api_docs(app)
    HttpApi(
        HttpUseCases(
            container.start_job(),
            container.notify_user(),
            container.notify_admins(),
            container.raise_alert(),
            container.issue_session(),
            container.revoke_session(),
            container.get_job(),
            container.cancel_job(),
            container.connect_platform(),
            review_queue=container.review_queue(),
            review_captions=container.review_captions(),
        ),
        [*container.health_probes(), app[DRAIN_KEY]],  # readyz: 503 while the node drains
        settings.api_token,
        container.clock(),
        container.tokens(),
        settings.session_cookie_name,
        settings.cors_origins,
    ).register(app)
    register_pages(
        app,
        demo_mode=settings.demo_mode,
        cookie_name=settings.session_cookie_name,
        login_url=settings.login_url,
        session_ttl=settings.session_ttl_seconds,
        issue_session=container.issue_session(),
        revoke_session=container.revoke_session(),
        whoami=container.whoami(),
        start_job=container.start_job(),
        notify_user=container.notify_user(),
        clock=container.clock(),
        tokens=container.tokens(),
        allowed_origins=settings.cors_origins,
        trusted_proxies=settings.trusted_proxy_list,
        session_routes=[
            *review_session_routes(container.review_queue(), container.review_captions()),
            *job_session_routes(container.get_job()),
        ],
    )


def _background(container: Container, app: web.Application) -> None:
    """At start: the container's resources, demo data, interrupted jobs resumed, publishing and the periodic
    loops; at the end the loops stop, then the resources close."""
    settings: Settings = container.settings()
    tasks: list[asyncio.Task[None]] = []
    metrics_runner: list[web.AppRunner] = []
    stack = contextlib.AsyncExitStack()

    async def on_startup(_app: web.Application) -> None:
        await stack.enter_async_context(running(container))
        if settings.demo_mode:
            await container.seed_demo()()
        if container.jobs_mode() == "claimed":  # its first round takes the jobs nobody runs
            container.inline_claims().start()
        elif settings.jobs_inline:
            recovered = await container.recover_jobs()()
            if recovered:
                log.info("resumed %d caption jobs", recovered)
        start_publishing(container)
        loop = asyncio.get_running_loop()
        if settings.bus == "redis":
            renew_every = settings.connection_lease_seconds / 3
            tasks.append(loop.create_task(every(renew_every, container.renew_connection_leases(), "lease renewal")))
            if settings.recovery_enabled:
                keep = container.keep_recovery_states()
                tasks.append(loop.create_task(every(renew_every, keep, "recovery states")))
        tasks.append(
            loop.create_task(every(settings.system_status_interval, container.system_status(), "system status"))
        )
        tasks.append(
            loop.create_task(every(settings.session_check_interval, container.sweep_sessions(), "session sweep"))
        )
        if settings.metrics_port is not None:
            metrics_runner.append(
                await serve_metrics(
                    container.metrics(), settings.flask_host, settings.metrics_port, header_limits(settings)
                )
            )
        tune_after_startup()

    async def on_cleanup(_app: web.Application) -> None:
        # Each step is bounded (adapters/stopping.py): a loop that ignores cancel() is logged, not waited on forever.
        if metrics_runner:
            await finish_within(metrics_runner.pop().cleanup(), "metrics server cleanup")
        await stop_tasks(tasks, "periodic loops")
        await stack.aclose()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)


def _observe(container: Container, app: web.Application) -> None:
    """Metrics: what the registry, security counters and Redis listeners already know is read at scrape time."""
    settings: Settings = container.settings()
    metrics = container.metrics()
    container.manager().metrics = metrics
    registry = container.registry()
    listeners = None
    if settings.bus == "redis":  # each Redis listener says whether it is subscribed and answered
        manager, signals, revocations = container.manager(), container.signals(), container.revocations()

        def listeners() -> dict[str, bool]:
            return {"fanout": manager.listening, "jobs": signals.healthy, "revocations": revocations.healthy}

    metrics.watch(
        connections=lambda: registry,
        security_counts=lambda: dict(container.security().counts),
        listeners=listeners,
        running_jobs=lambda: container.scheduler().running,
    )
    if settings.metrics_port is None:
        register_metrics(app, metrics)
    app[METRICS_KEY] = metrics
    bind_user_lookup(lambda sid: conn.user.id if (conn := registry.get(sid)) is not None else None)


def _guard_handshakes(container: Container, sio: Any) -> None:
    """Per-IP handshake budget (fleet-wide with Redis) in front of the engine; namespace-connect timeout."""
    settings: Settings = container.settings()
    sio.connect_timeout = settings.connect_timeout_seconds
    sio.eio.handshake_guard = HandshakeGuard(
        container.rates(),
        RateRule(settings.handshakes_per_ip_per_minute, 60.0),
        ClientAddress(settings.trusted_proxy_list),
        container.clock(),
        container.security(),
        container.stamp(),
    )
