"""The composition root: settings from the environment, one container that picks the adapters, the served app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
from aiohttp import web
from dependency_injector import containers, providers
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.inbound.http_api import HttpApi, HttpUseCases
from adapters.inbound.periodic import every
from adapters.inbound.socket_server import (
    SocketGateway,
    SocketPublisher,
    SocketTransport,
    create_socket_server,
    origin_guard,
)
from adapters.outbound.demo.captions import DemoCaptionGenerator
from adapters.outbound.demo.posts import DemoPostSource
from adapters.outbound.memory.jobs import InMemoryJobRepository
from adapters.outbound.memory.limits import InMemoryConnectionSlotStore, InMemoryRateLimitStore
from adapters.outbound.memory.platforms import InMemoryPlatformRepository
from adapters.outbound.memory.scheduler import InProcessJobScheduler
from adapters.outbound.memory.sessions import InMemorySessionRepository
from adapters.outbound.memory.signals import LocalJobSignals
from adapters.outbound.memory.users import InMemoryUserRepository
from adapters.outbound.sql.engine import create_engine, migrate
from adapters.outbound.sql.health import SqlHealthProbe
from adapters.outbound.sql.jobs import SqlJobRepository
from adapters.outbound.sql.platforms import SqlPlatformRepository
from adapters.outbound.sql.sessions import SqlSessionRepository
from adapters.outbound.sql.users import SqlUserRepository
from adapters.outbound.system import ProcessProbe, SecureTokens, SystemClock
from application.client_events import ClientEventGate
from application.connect import ConnectClient, DisconnectClient, EndConnections
from application.connections import ConnectionRegistry
from application.demo import SeedDemo
from application.job_control import PauseCaptionGeneration, RequestCaptionStatus, ResumeCaptionGeneration
from application.limits import Limits
from application.notifications import NotifyAdmins, NotifyUser, RaiseAdminAlert
from application.outbox import Outbox
from application.rooms import JoinRoom, LeaveRoom
from application.routes import client_routes
from application.run_job import RunCaptionJob
from application.security import SecurityEvents
from application.sessions import AddUser, IssueSession, RevokeSession, SweepSessions
from application.start_job import RecoverJobs, StartCaptionJob
from application.system_status import PublishSystemStatus
from domain.rate_limit import RateRule

log = logging.getLogger("vedfolnir")

MEMORY = "memory"


class Settings(BaseSettings):
    """Every setting, read from the environment (names are the field names in upper case)."""

    model_config = SettingsConfigDict(extra="ignore")

    database_url: str = "sqlite+aiosqlite:///vedfolnir-realtime.db"
    auto_migrate: bool = True
    flask_host: str = "127.0.0.1"
    flask_port: int = 5000
    socketio_cors_origins: str = ""
    cors_allow_wildcard: bool = False
    session_cookie_name: str = "session"
    session_ttl_seconds: int = 86400
    login_url: str = "/login"
    api_token: str | None = None
    trusted_proxies: str = ""
    rate_limit_messages: int = 100
    rate_limit_window_seconds: float = 60.0
    max_connections_per_user: int = 5
    connect_attempts_per_hour: int = 100
    max_message_bytes: int = 10 * 1024
    system_status_interval: float = 10.0
    session_check_interval: float = 2.0
    demo_mode: bool = False
    demo_posts: int = 25
    demo_caption_seconds: float = 2.0
    demo_failure_every: int = 12
    demo_page_delay: float = 0.2
    log_level: str = "INFO"

    @property
    def backend(self) -> str:
        return MEMORY if self.database_url == MEMORY else "sql"

    @property
    def cors_origins(self) -> list[str] | str:
        """SOCKETIO_CORS_ORIGINS if set, else http(s)://FLASK_HOST:FLASK_PORT with localhost == 127.0.0.1."""
        if self.socketio_cors_origins.strip():
            origins = [o.strip().rstrip("/") for o in self.socketio_cors_origins.split(",") if o.strip()]
            if "*" in origins:
                if not self.cors_allow_wildcard:
                    raise ValueError("SOCKETIO_CORS_ORIGINS='*' needs CORS_ALLOW_WILDCARD=true (development only)")
                log.warning("CORS WILDCARD ENABLED: any web page may open sockets here. Never do this in production.")
                return "*"
            return origins
        hosts = {self.flask_host}
        if self.flask_host in ("127.0.0.1", "localhost", "0.0.0.0", "::1"):
            hosts = {"127.0.0.1", "localhost"}
        return sorted(f"{scheme}://{host}:{self.flask_port}" for scheme in ("http", "https") for host in hosts)

    @property
    def limits(self) -> Limits:
        return Limits(
            messages=RateRule(self.rate_limit_messages, self.rate_limit_window_seconds),
            connect_attempts=RateRule(self.connect_attempts_per_hour, 3600.0),
            connections_per_user=self.max_connections_per_user,
            max_message_bytes=self.max_message_bytes,
        )

    @property
    def trusted_proxy_list(self) -> list[str]:
        return [p.strip() for p in self.trusted_proxies.split(",") if p.strip()]


def _engine(url: str) -> AsyncEngine | None:
    return None if url == MEMORY else create_engine(url)


def _measure(data: Any) -> int:
    try:
        return len(orjson.dumps(data))
    except TypeError:
        return 0


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    backend = providers.Callable(lambda s: s.backend, settings)

    clock = providers.Singleton(SystemClock)
    tokens = providers.Singleton(SecureTokens)
    limits = providers.Callable(lambda s: s.limits, settings)

    engine = providers.Singleton(_engine, settings.provided.database_url)
    memory_users = providers.Singleton(InMemoryUserRepository)
    users = providers.Selector(backend, memory=memory_users, sql=providers.Singleton(SqlUserRepository, engine))
    sessions = providers.Selector(
        backend,
        memory=providers.Singleton(InMemorySessionRepository, memory_users),
        sql=providers.Singleton(SqlSessionRepository, engine),
    )
    platforms = providers.Selector(
        backend,
        memory=providers.Singleton(InMemoryPlatformRepository),
        sql=providers.Singleton(SqlPlatformRepository, engine),
    )
    jobs = providers.Selector(
        backend,
        memory=providers.Singleton(InMemoryJobRepository),
        sql=providers.Singleton(SqlJobRepository, engine),
    )
    health_probes = providers.Selector(
        backend, memory=providers.List(), sql=providers.List(providers.Singleton(SqlHealthProbe, engine))
    )

    rates = providers.Singleton(InMemoryRateLimitStore)
    slots = providers.Singleton(InMemoryConnectionSlotStore)
    signals = providers.Singleton(LocalJobSignals)
    system_probe = providers.Singleton(ProcessProbe)

    security = providers.Singleton(SecurityEvents)
    sio = providers.Singleton(
        create_socket_server, settings.provided.cors_origins, settings.provided.max_message_bytes, security
    )
    transport = providers.Singleton(SocketTransport, sio)
    publisher = providers.Singleton(SocketPublisher, sio)
    outbox = providers.Singleton(Outbox, publisher, transport, clock, tokens)
    registry = providers.Singleton(ConnectionRegistry)

    post_source = providers.Singleton(
        DemoPostSource, settings.provided.demo_posts, 10, settings.provided.demo_page_delay
    )
    caption_generator = providers.Singleton(
        DemoCaptionGenerator, settings.provided.demo_caption_seconds, settings.provided.demo_failure_every
    )

    run_job = providers.Singleton(
        RunCaptionJob, jobs, users, platforms, post_source, caption_generator, signals, outbox, clock
    )
    scheduler = providers.Singleton(InProcessJobScheduler, run_job)
    start_job = providers.Singleton(StartCaptionJob, users, platforms, jobs, scheduler, clock, tokens)
    recover_jobs = providers.Singleton(RecoverJobs, jobs, scheduler)

    end_connections = providers.Singleton(EndConnections, registry, transport, outbox, settings.provided.login_url)
    connect = providers.Singleton(
        ConnectClient, users, sessions, registry, rates, slots, transport, outbox, clock, limits, security
    )
    disconnect = providers.Singleton(DisconnectClient, registry, slots, outbox)
    join_room = providers.Singleton(JoinRoom, transport)
    leave_room = providers.Singleton(LeaveRoom, transport)
    request_caption_status = providers.Singleton(RequestCaptionStatus, jobs)
    pause = providers.Singleton(PauseCaptionGeneration, jobs, clock)
    resume = providers.Singleton(ResumeCaptionGeneration, jobs, signals, clock)
    routes = providers.Singleton(client_routes, join_room, leave_room, request_caption_status, pause, resume)
    gate = providers.Singleton(
        ClientEventGate,
        registry,
        routes,
        rates,
        end_connections,
        outbox,
        clock,
        limits,
        providers.Object(_measure),
        security,
    )

    notify_user = providers.Singleton(NotifyUser, users, outbox, tokens)
    notify_admins = providers.Singleton(NotifyAdmins, outbox, tokens)
    raise_alert = providers.Singleton(RaiseAdminAlert, outbox, tokens)
    system_status = providers.Singleton(
        PublishSystemStatus, registry, system_probe, health_probes, outbox, raise_alert, security
    )
    add_user = providers.Singleton(AddUser, users)
    issue_session = providers.Singleton(IssueSession, users, sessions, tokens, clock)
    revoke_session = providers.Singleton(RevokeSession, sessions, end_connections)
    sweep_sessions = providers.Singleton(SweepSessions, registry, sessions, end_connections, clock)
    seed_demo = providers.Singleton(SeedDemo, users, platforms)


def build_container(settings: Settings | None = None) -> Container:
    container = Container(settings=settings or Settings())
    container.check_dependencies()
    return container


@contextlib.asynccontextmanager
async def running(container: Container) -> AsyncIterator[Container]:
    """Starts what a container holds open (database engine) and closes it again; for CLI and embedding."""
    settings: Settings = container.settings()
    if settings.backend != MEMORY and settings.auto_migrate:
        await migrate(settings.database_url)
    try:
        yield container
    finally:
        await container.scheduler().close()
        engine = container.engine()
        if engine is not None:
            await engine.dispose()


def build_app(container: Container) -> web.Application:
    """The served aiohttp application: Socket.IO at /socket.io/, the HTTP API, and the background loops."""
    settings: Settings = container.settings()
    app = web.Application(
        client_max_size=1024 * 1024, middlewares=[origin_guard(settings.cors_origins, container.security())]
    )
    sio = container.sio()
    sio.attach(app)
    tasks: list[asyncio.Task[None]] = []
    stack = contextlib.AsyncExitStack()

    SocketGateway(
        sio,
        container.connect(),
        container.disconnect(),
        container.gate(),
        container.clock(),
        container.tokens(),
        settings.session_cookie_name,
        settings.login_url,
        settings.trusted_proxy_list,
    )
    HttpApi(
        HttpUseCases(
            container.start_job(),
            container.notify_user(),
            container.notify_admins(),
            container.raise_alert(),
            container.issue_session(),
            container.revoke_session(),
        ),
        container.health_probes(),
        settings.api_token,
        container.clock(),
        container.tokens(),
        settings.session_cookie_name,
    ).register(app)

    async def on_startup(_app: web.Application) -> None:
        await stack.enter_async_context(running(container))
        if settings.demo_mode:
            await container.seed_demo()()
        recovered = await container.recover_jobs()()
        if recovered:
            log.info("resumed %d caption jobs", recovered)
        loop = asyncio.get_running_loop()
        tasks.append(
            loop.create_task(every(settings.system_status_interval, container.system_status(), "system status"))
        )
        tasks.append(
            loop.create_task(every(settings.session_check_interval, container.sweep_sessions(), "session sweep"))
        )

    async def on_cleanup(_app: web.Application) -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await stack.aclose()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app


def embedded(settings: Settings, publisher: Any, transport: Any | None = None) -> Container:
    """A container for a host that runs the use cases without our socket server.

    `publisher` delivers events (anything with the Publisher port's `publish`); `transport` is only
    needed if the host also feeds client events through the gate.
    """
    container = build_container(settings)
    container.publisher.override(providers.Object(publisher))
    if transport is not None:
        container.transport.override(providers.Object(transport))
    return container
