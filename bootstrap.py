"""The composition root: settings from the environment, one container that picks the adapters, the served app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import AsyncIterator
from typing import Any

import orjson
from aiohttp import web
from dependency_injector import containers, providers
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.inbound.api_docs.routes import register_api_docs
from adapters.inbound.client_address import ClientAddress
from adapters.inbound.gc_tuning import tune_after_startup
from adapters.inbound.handshake_guard import HandshakeGuard
from adapters.inbound.http_api import HttpApi, HttpUseCases
from adapters.inbound.job_pages import job_session_routes
from adapters.inbound.logging_setup import bind_user_lookup
from adapters.inbound.metrics_http import METRICS_KEY, register_metrics, serve_metrics
from adapters.inbound.pages import register_pages
from adapters.inbound.periodic import every
from adapters.inbound.recovery import RecoveringServer, RecoveringTransport, RecoveryProtocol
from adapters.inbound.refusals import RefusalDelivery
from adapters.inbound.response_headers import nosniff
from adapters.inbound.review_pages import review_session_routes
from adapters.inbound.socket_server import (
    OrjsonModule,
    SocketGateway,
    SocketPublisher,
    SocketTransport,
    create_socket_server,
)
from adapters.observability.metered import (
    MeteredPublisher,
    MeteredRateLimitStore,
    MeteredSlotStore,
    TimedRedis,
    time_statements,
)
from adapters.observability.metrics import Metrics
from adapters.outbound.admin_activity import DeferredAdminActivity
from adapters.outbound.crypto import TokenCipher
from adapters.outbound.demo.captions import DemoCaptionGenerator
from adapters.outbound.demo.descriptions import DemoDescriptionWriter
from adapters.outbound.demo.posts import DemoPostSource
from adapters.outbound.direct_delivery import DirectManager
from adapters.outbound.event_log import LocalEventLog
from adapters.outbound.flask_sessions import FlaskCookieSessionSource
from adapters.outbound.health_probes import OllamaHealthProbe, PlatformApisHealthProbe
from adapters.outbound.host_users import HostUserDirectory
from adapters.outbound.logged_delivery import LocalLoggedEmitter, LoggedPublisher
from adapters.outbound.memory.credentials import InMemoryPlatformCredentials
from adapters.outbound.memory.fleet import LeaveToWorkers, LocalFleetView, LocalRevocations
from adapters.outbound.memory.jobs import InMemoryJobRepository
from adapters.outbound.memory.limits import InMemoryConnectionSlotStore, InMemoryRateLimitStore
from adapters.outbound.memory.platforms import InMemoryPlatformRepository
from adapters.outbound.memory.publish_loop import InProcessPublishLoop
from adapters.outbound.memory.recovery import InMemoryRecoveryStates
from adapters.outbound.memory.reviews import InMemoryReviewRepository
from adapters.outbound.memory.scheduler import InProcessJobScheduler
from adapters.outbound.memory.sessions import InMemorySessionRepository
from adapters.outbound.memory.signals import LocalJobSignals
from adapters.outbound.memory.users import InMemoryUserRepository
from adapters.outbound.ollama import OllamaCaptionGenerator
from adapters.outbound.platforms.descriptions import MastodonDescriptionWriter
from adapters.outbound.platforms.mastodon import MastodonPostSource
from adapters.outbound.redis.client import client_options, redis_from_url
from adapters.outbound.redis.event_log import RedisLoggedEmitter
from adapters.outbound.redis.failover import FailoverRateLimitStore, FailoverSlotStore
from adapters.outbound.redis.fleet import RedisFleetView, RedisJobLeases
from adapters.outbound.redis.health import RedisHealthProbe
from adapters.outbound.redis.limits import RedisConnectionSlotStore, RedisRateLimitStore
from adapters.outbound.redis.manager import DirectRedisManager
from adapters.outbound.redis.publisher import ManagerPublisher
from adapters.outbound.redis.recovery import RedisRecoveryStates
from adapters.outbound.redis.revocations import RedisRevocationBus
from adapters.outbound.redis.signals import RedisJobSignals
from adapters.outbound.session_cache import CachedSessionSource
from adapters.outbound.sql.credentials import SqlPlatformCredentials
from adapters.outbound.sql.engine import create_engine, migrate
from adapters.outbound.sql.health import SqlHealthProbe
from adapters.outbound.sql.jobs import SqlJobRepository
from adapters.outbound.sql.platforms import SqlPlatformRepository
from adapters.outbound.sql.reviews import SqlReviewRepository
from adapters.outbound.sql.sessions import SqlSessionRepository
from adapters.outbound.sql.users import SqlUserRepository
from adapters.outbound.stored_sessions import StoredSessionSource
from adapters.outbound.system import ProcessProbe, SecureTokens, SystemClock
from application.client_events import ClientEventGate
from application.connect import ConnectClient, DisconnectClient, EndConnections
from application.connections import ConnectionRegistry
from application.demo import SeedDemo
from application.fleet import ClaimJobs, RenewConnectionLeases
from application.job_admin import CancelCaptionJob, GetCaptionJob
from application.job_control import PauseCaptionGeneration, RequestCaptionStatus, ResumeCaptionGeneration
from application.notifications import NotifyAdmins, NotifyUser, RaiseAdminAlert
from application.outbox import Outbox
from application.platforms import ConnectPlatform, TrackPlatformReachability
from application.publish import PublishCaptions
from application.recovery import ConnectionRecovery, KeepRecoveryStates, RecoveringDisconnect
from application.review import ReviewCaptions, ReviewIntake, ReviewQueue
from application.rooms import JoinRoom, LeaveRoom
from application.routes import client_routes
from application.run_job import RunCaptionJob
from application.security import SecurityEvents
from application.sessions import AddUser, IssueSession, RevokeSession, SweepSessions
from application.start_job import RecoverJobs, StartCaptionJob
from application.system_status import PublishSystemStatus
from application.whoami import WhoAmI
from composition.config import MEMORY
from composition.config import ExplicitSettings as ExplicitSettings
from composition.config import Settings as Settings
from domain.access import ADMIN_NAMESPACE, USER_NAMESPACE
from domain.rate_limit import RateRule
from domain.refusals import RefusalBackoff

log = logging.getLogger("vedfolnir")


def _engine(url: str, metrics: Metrics | None = None) -> AsyncEngine | None:
    if url == MEMORY:
        return None
    engine = create_engine(url)
    if metrics is not None:
        time_statements(engine, metrics.db_latency)
    return engine


def _host_engine(settings: Settings) -> AsyncEngine:
    if not settings.host_database_url:
        raise ValueError("SESSION_SOURCE=flask needs HOST_DATABASE_URL (the Vedfolnir database with its users table)")
    return create_engine(settings.host_database_url)


def _flask_sessions(settings: Settings, engine: AsyncEngine) -> FlaskCookieSessionSource:
    return FlaskCookieSessionSource(
        engine,
        settings.flask_secret_key or "",
        settings.flask_secret_key_fallbacks,
        settings.flask_session_lifetime,
        settings.wtf_csrf_secret_key,
        settings.wtf_csrf_time_limit,
    )


def _mastodon(settings: Settings, credentials: Any) -> MastodonPostSource:
    return MastodonPostSource(
        None, credentials.token_for, page_size=settings.platform_page_size, timeout=settings.platform_timeout
    )


def _description_writer(settings: Settings, credentials: Any) -> MastodonDescriptionWriter:
    return MastodonDescriptionWriter(
        None, credentials.token_for, max_retries=settings.publish_retries, timeout=settings.platform_timeout
    )


def _ollama(settings: Settings) -> OllamaCaptionGenerator:
    options: dict[str, Any] = {}
    if settings.ollama_prompt:
        options["prompt"] = settings.ollama_prompt
    return OllamaCaptionGenerator(
        None,
        base_url=settings.ollama_url,
        model=settings.ollama_model,
        timeout=settings.ollama_timeout,
        max_image_bytes=settings.image_max_bytes,
        max_caption_chars=settings.caption_max_chars,
        max_retries=settings.ollama_retries,
        **options,
    )


def _service_probes(settings: Settings, platforms: Any, on_platforms_checked: Any = None) -> list[Any]:
    """Health of the outside services the real adapters use (the demo ones need none)."""
    probes: list[Any] = []
    if settings.caption_generator == "ollama":
        probes.append(OllamaHealthProbe(None, settings.ollama_url, settings.ollama_model))
    if settings.post_source == "mastodon":
        probes.append(PlatformApisHealthProbe(None, platforms.instance_urls, on_checked=on_platforms_checked))
    return probes


def _key(settings: Settings, name: str) -> str:
    return settings.redis_key(name)


def _redis(url: str | None, metrics: Metrics | None = None) -> Redis | None:
    if not url:
        return None
    if metrics is None:
        return redis_from_url(url)
    client: TimedRedis = TimedRedis.from_url(url, **client_options())  # type: ignore[assignment]  # from_url is typed as Redis
    client.latency = metrics.redis_latency
    return client


def _event_log(settings: Settings) -> LocalEventLog:
    return LocalEventLog(settings.recovery_buffer_per_room, settings.recovery_window_seconds, os.urandom(6).hex())


def _server_class(settings: Settings) -> type[RecoveringServer] | None:
    return RecoveringServer if settings.recovery_enabled else None


def _measure(data: Any) -> int:
    """Bytes of an event's data as JSON; what cannot be measured (nesting past orjson's 254 levels, types it
    refuses) fails closed: larger than any limit."""
    try:
        return len(orjson.dumps(data))
    except TypeError:
        return sys.maxsize


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    backend = providers.Callable(lambda s: s.backend, settings)

    clock = providers.Singleton(SystemClock)
    tokens = providers.Singleton(SecureTokens)
    limits = providers.Callable(lambda s: s.limits, settings)

    metrics = providers.Singleton(Metrics, settings.provided.node_id)
    engine = providers.Singleton(_engine, settings.provided.database_url, metrics)
    memory_users = providers.Singleton(InMemoryUserRepository)
    own_users = providers.Selector(backend, memory=memory_users, sql=providers.Singleton(SqlUserRepository, engine))
    host_engine = providers.Singleton(_host_engine, settings)
    # With SESSION_SOURCE=flask, users (ids, names, roles) are the host's: see adapters/outbound/host_users.py.
    users = providers.Selector(
        providers.Callable(lambda s: s.session_source, settings),
        own=own_users,
        flask=providers.Singleton(HostUserDirectory, host_engine, own_users, engine),
    )
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
    session_source_kind = providers.Callable(lambda s: s.session_source, settings)
    uncached_session_source = providers.Selector(
        session_source_kind,
        own=providers.Singleton(StoredSessionSource, sessions, users),
        flask=providers.Singleton(_flask_sessions, settings, host_engine),
    )
    # Every connect asks this node's view first (see session_cache.py): no round trip for a known session.
    session_source = providers.Singleton(
        CachedSessionSource, uncached_session_source, clock, settings.provided.session_check_interval
    )
    health_probes = providers.Selector(
        backend, memory=providers.List(), sql=providers.List(providers.Singleton(SqlHealthProbe, engine))
    )

    bus = providers.Callable(lambda s: s.bus, settings)
    redis = providers.Singleton(_redis, settings.provided.redis_url, metrics)
    local_rates = providers.Singleton(InMemoryRateLimitStore)
    local_slots = providers.Singleton(InMemoryConnectionSlotStore)
    unmetered_rates = providers.Selector(
        bus,
        memory=local_rates,
        redis=providers.Singleton(
            FailoverRateLimitStore,
            providers.Singleton(RedisRateLimitStore, redis, providers.Callable(_key, settings, "rl:")),
            local_rates,
        ),
    )
    unmetered_slots = providers.Selector(
        bus,
        memory=local_slots,
        redis=providers.Singleton(
            FailoverSlotStore,
            providers.Singleton(
                RedisConnectionSlotStore,
                redis,
                providers.Callable(_key, settings, "conn:"),
                lease_seconds=settings.provided.connection_lease_seconds,
            ),
            providers.Singleton(InMemoryConnectionSlotStore),
        ),
    )
    rates = providers.Singleton(MeteredRateLimitStore, unmetered_rates, metrics)
    slots = providers.Singleton(MeteredSlotStore, unmetered_slots, metrics)
    signals = providers.Selector(
        bus,
        memory=providers.Singleton(LocalJobSignals),
        redis=providers.Singleton(RedisJobSignals, redis, channel=settings.provided.jobs_channel),
    )
    fleet = providers.Selector(
        bus,
        memory=providers.Singleton(LocalFleetView),
        redis=providers.Singleton(RedisFleetView, redis, providers.Callable(_key, settings, "fleet")),
    )
    job_leases = providers.Singleton(
        RedisJobLeases,
        redis,
        providers.Callable(_key, settings, "job-claim:"),
        lease_seconds=settings.provided.job_lease_seconds,
    )
    system_probe = providers.Singleton(ProcessProbe)
    redis_probes = providers.Selector(
        bus, memory=providers.List(), redis=providers.List(providers.Singleton(RedisHealthProbe, redis))
    )

    security = providers.Singleton(SecurityEvents)
    manager = providers.Selector(
        bus,
        memory=providers.Singleton(DirectManager),
        redis=providers.Singleton(
            DirectRedisManager, settings.provided.redis_url, settings.provided.redis_channel, json=OrjsonModule
        ),
    )
    sio = providers.Singleton(
        create_socket_server,
        settings.provided.cors_origins,
        settings.provided.max_message_bytes,
        security,
        manager,
        settings.provided.outbound_limits,
        providers.Callable(_server_class, settings),
    )
    # Connection-state recovery: replayable events are numbered and logged; states by private id.
    recovery_mode = providers.Callable(lambda s: s.recovery_mode, settings)
    event_log = providers.Singleton(_event_log, settings)
    logged_emitter = providers.Selector(
        bus,
        memory=providers.Singleton(LocalLoggedEmitter, manager, event_log),
        redis=providers.Singleton(
            RedisLoggedEmitter,
            redis,
            manager,
            event_log,
            providers.Callable(_key, settings, "log"),
            per_room=settings.provided.recovery_buffer_per_room,
            total=settings.provided.recovery_log_events,
            window=settings.provided.recovery_window_seconds,
        ),
    )
    recovery_states = providers.Selector(
        bus,
        memory=providers.Singleton(InMemoryRecoveryStates, clock),
        redis=providers.Singleton(
            RedisRecoveryStates,
            redis,
            providers.Callable(_key, settings, "recovery:"),
            providers.Callable(lambda s: s.recovery_window_seconds + s.connection_lease_seconds, settings),
        ),
    )
    registry = providers.Singleton(ConnectionRegistry)
    recovery = providers.Singleton(
        ConnectionRecovery,
        recovery_states,
        registry,
        tokens,
        settings.provided.recovery_window_seconds,
        settings.provided.recovery_max_replay,
    )
    keep_recovery_states = providers.Singleton(KeepRecoveryStates, recovery, recovery_states)
    transport = providers.Selector(
        recovery_mode,
        off=providers.Singleton(SocketTransport, sio),
        on=providers.Singleton(RecoveringTransport, sio, recovery, logged_emitter),
    )
    publisher = providers.Selector(
        recovery_mode,
        off=providers.Singleton(SocketPublisher, sio),
        on=providers.Singleton(LoggedPublisher, logged_emitter),
    )
    metered_publisher = providers.Singleton(MeteredPublisher, publisher, metrics)
    outbox = providers.Singleton(Outbox, metered_publisher, transport, clock, tokens)

    cipher = providers.Singleton(TokenCipher, settings.provided.platform_token_key)
    credentials = providers.Selector(
        backend,
        memory=providers.Singleton(InMemoryPlatformCredentials, cipher),
        sql=providers.Singleton(SqlPlatformCredentials, engine, cipher),
    )
    post_source_kind = providers.Callable(lambda s: s.post_source, settings)
    post_source = providers.Selector(
        post_source_kind,
        demo=providers.Singleton(DemoPostSource, settings.provided.demo_posts, 10, settings.provided.demo_page_delay),
        mastodon=providers.Singleton(_mastodon, settings, credentials),
    )
    caption_generator_kind = providers.Callable(lambda s: s.caption_generator, settings)
    caption_generator = providers.Selector(
        caption_generator_kind,
        demo=providers.Singleton(
            DemoCaptionGenerator, settings.provided.demo_caption_seconds, settings.provided.demo_failure_every
        ),
        ollama=providers.Singleton(_ollama, settings),
    )
    track_reachability = providers.Singleton(TrackPlatformReachability, platforms, outbox)
    service_probes = providers.Singleton(_service_probes, settings, platforms, track_reachability)

    # The review queue and publishing (issue 15)
    reviews = providers.Selector(
        backend,
        memory=providers.Singleton(InMemoryReviewRepository),
        sql=providers.Singleton(SqlReviewRepository, engine),
    )
    description_writer = providers.Selector(
        post_source_kind,
        demo=providers.Singleton(DemoDescriptionWriter, settings.provided.demo_publish_delay),
        mastodon=providers.Singleton(_description_writer, settings, credentials),
    )
    publish_loop = providers.Singleton(InProcessPublishLoop)
    review_intake = providers.Singleton(ReviewIntake, reviews, outbox, publish_loop, clock, tokens)
    review_queue = providers.Singleton(ReviewQueue, reviews, users)
    review_captions = providers.Singleton(
        ReviewCaptions, reviews, users, platforms, caption_generator, outbox, publish_loop, clock, tokens
    )
    publish_captions = providers.Singleton(
        PublishCaptions,
        reviews,
        users,
        platforms,
        description_writer,
        outbox,
        clock,
        settings.provided.node_id,
        settings.provided.publish_claim_seconds,
    )

    run_job = providers.Singleton(
        RunCaptionJob,
        jobs,
        users,
        platforms,
        post_source,
        caption_generator,
        signals,
        outbox,
        clock,
        settings.provided.job_recheck_seconds,
        intake=review_intake,
        max_attempts=settings.provided.job_max_attempts,
    )
    scheduler = providers.Singleton(InProcessJobScheduler, run_job)
    jobs_mode = providers.Callable(lambda s: "inline" if s.jobs_inline else "workers", settings)
    # Where a new job goes: run here, or left for a worker's next claim round.
    job_intake = providers.Selector(jobs_mode, inline=scheduler, workers=providers.Singleton(LeaveToWorkers))
    start_job = providers.Singleton(StartCaptionJob, users, platforms, jobs, job_intake, clock, tokens)
    claim_jobs = providers.Singleton(ClaimJobs, jobs, job_leases, scheduler, settings.provided.node_id)
    recover_jobs = providers.Singleton(RecoverJobs, jobs, scheduler)

    end_connections = providers.Singleton(EndConnections, registry, transport, outbox, settings.provided.login_url)
    # Connects and disconnects are answered first; their user_activity_update for admins follows.
    admin_activity = providers.Singleton(DeferredAdminActivity, outbox)
    connect = providers.Singleton(
        ConnectClient,
        session_source,
        registry,
        rates,
        slots,
        transport,
        outbox,
        clock,
        limits,
        security,
        admin_activity,
    )
    plain_disconnect = providers.Singleton(DisconnectClient, registry, slots, outbox, admin_activity)
    disconnect = providers.Selector(
        recovery_mode,
        off=plain_disconnect,
        on=providers.Singleton(RecoveringDisconnect, recovery, registry, plain_disconnect),
    )
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
        csrf_matches=session_source.provided.csrf_matches,
    )

    notify_user = providers.Singleton(NotifyUser, users, outbox, tokens)
    notify_admins = providers.Singleton(NotifyAdmins, outbox, tokens)
    raise_alert = providers.Singleton(RaiseAdminAlert, outbox, tokens)
    status_probes = providers.Callable(
        lambda *groups: [p for g in groups for p in g], health_probes, redis_probes, service_probes
    )
    connect_platform = providers.Singleton(ConnectPlatform, users, platforms, credentials, post_source, outbox)
    get_job = providers.Singleton(GetCaptionJob, jobs)
    cancel_job = providers.Singleton(CancelCaptionJob, jobs, signals, outbox, clock)
    system_status = providers.Singleton(
        PublishSystemStatus,
        registry,
        system_probe,
        status_probes,
        outbox,
        raise_alert,
        security,
        fleet,
        settings.provided.node_id,
    )
    renew_connection_leases = providers.Singleton(RenewConnectionLeases, registry, slots)
    add_user = providers.Singleton(AddUser, users)
    issue_session = providers.Singleton(
        IssueSession, users, sessions, tokens, clock, settings.provided.session_ttl_seconds
    )
    whoami = providers.Singleton(WhoAmI, users, sessions, clock)
    # A revoked session leaves this node's session view, then its sockets here are ended.
    on_sessions_revoked = providers.Callable(
        lambda cache, end: cache.on_revoked(end.for_sessions), session_source, end_connections
    )
    revocations = providers.Selector(
        bus,
        memory=providers.Singleton(LocalRevocations, on_sessions_revoked),
        redis=providers.Singleton(
            RedisRevocationBus,
            redis,
            channel=settings.provided.revocations_channel,
            on_revoked=on_sessions_revoked,
        ),
    )
    revoke_session = providers.Singleton(RevokeSession, sessions, revocations)
    sweep_sessions = providers.Singleton(SweepSessions, registry, session_source, end_connections, clock)
    seed_demo = providers.Singleton(SeedDemo, users, platforms)


def build_container(settings: Settings | None = None) -> Container:
    container = Container(settings=settings or Settings())
    container.check_dependencies()
    return container


async def upgrade_database(settings: Settings) -> None:
    if settings.backend != MEMORY:
        await migrate(settings.database_url)


@contextlib.asynccontextmanager
async def running(container: Container) -> AsyncIterator[Container]:
    """Starts what a container holds open (database engine) and closes it again; for CLI and embedding."""
    settings: Settings = container.settings()
    if settings.backend != MEMORY and settings.auto_migrate:
        await migrate(settings.database_url)
    listeners = [container.signals(), container.revocations()] if settings.bus == "redis" else []
    if settings.bus == "redis" and settings.recovery_enabled:
        listeners.append(container.logged_emitter())  # reads the log channel (and what it missed)
    for listener in listeners:
        await listener.start()
    try:
        yield container
    finally:
        await container.scheduler().close()
        await container.publish_loop().close()
        clients = (container.post_source(), container.caption_generator(), container.description_writer())
        for client in (*clients, *container.service_probes()):
            close = getattr(client, "close", None)
            if close is not None:
                await close()
        for listener in listeners:
            await listener.stop()
        if settings.bus == "redis":
            manager = container.manager()
            if isinstance(manager, DirectRedisManager):
                await manager.close()
            redis = container.redis()
            if redis is not None:
                await redis.aclose()
        engine = container.engine()
        if engine is not None:
            await engine.dispose()
        if settings.session_source == "flask":
            await container.host_engine().dispose()


def build_app(container: Container) -> web.Application:
    """The served aiohttp application: Socket.IO at /socket.io/, the HTTP API, and the background loops."""
    settings: Settings = container.settings()
    if settings.cors_wildcard:
        log.warning("CORS WILDCARD ENABLED: any web page may open sockets here. Never do this in production.")
    app = web.Application(
        client_max_size=1024 * 1024,
        # Header limits: a request past them is answered 400 before any handler (or handshake) sees it.
        handler_args={"max_headers": settings.http_max_headers, "max_field_size": settings.http_max_field_size},
    )
    sio = container.sio()
    sio.attach(app)
    app.on_response_prepare.append(nosniff)
    if settings.recovery_enabled:
        sio.recovery = RecoveryProtocol(
            container.recovery(), container.registry(), container.logged_emitter(), (USER_NAMESPACE, ADMIN_NAMESPACE)
        )
    _guard_handshakes(container, sio)
    tasks: list[asyncio.Task[None]] = []
    metrics_runner: list[web.AppRunner] = []
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
    _observe(container, app)
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
        container.health_probes(),
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

    async def on_startup(_app: web.Application) -> None:
        await stack.enter_async_context(running(container))
        if settings.demo_mode:
            await container.seed_demo()()
        if settings.jobs_inline:
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
            metrics_runner.append(await serve_metrics(container.metrics(), settings.flask_host, settings.metrics_port))
        tune_after_startup()

    async def on_cleanup(_app: web.Application) -> None:
        if metrics_runner:
            await metrics_runner.pop().cleanup()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await stack.aclose()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app


def _observe(container: Container, app: web.Application) -> None:
    """Metrics: what the registry, security counters and Redis listeners already know is read at scrape time."""
    settings: Settings = container.settings()
    metrics = container.metrics()
    container.manager().metrics = metrics
    registry = container.registry()
    listeners: dict[str, Any] = {}
    if settings.bus == "redis":
        listeners = {"fanout": container.manager(), "jobs": container.signals(), "revocations": container.revocations()}
    metrics.watch(
        connections=lambda: registry,
        security_counts=lambda: dict(container.security().counts),
        listeners=(lambda: {name: _listening(obj) for name, obj in listeners.items()}) if listeners else None,
        running_jobs=lambda: container.scheduler().running,
    )
    if settings.metrics_port is None:
        register_metrics(app, metrics)
    app[METRICS_KEY] = metrics
    bind_user_lookup(lambda sid: conn.user.id if (conn := registry.get(sid)) is not None else None)


def _listening(listener: Any) -> bool:
    state = getattr(listener, "listening", None)
    if state is None:
        state = getattr(listener, "healthy", False)
    return bool(state() if callable(state) else state)


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
    )


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


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    """A worker process: claims caption jobs and runs them; emits through Redis, serves no sockets."""
    if not settings.redis_url:
        raise ValueError("a worker needs REDIS_URL: it emits to the serving nodes through Redis")
    manager = DirectRedisManager(settings.redis_url, settings.redis_channel, write_only=True, json=OrjsonModule)
    container = build_container(settings)
    if settings.recovery_enabled:  # numbered through the shared log; a worker delivers to no socket itself
        redis = container.redis()
        assert redis is not None  # REDIS_URL is set
        emitter = RedisLoggedEmitter(
            redis,
            manager,
            None,
            settings.redis_key("log"),
            per_room=settings.recovery_buffer_per_room,
            total=settings.recovery_log_events,
            window=settings.recovery_window_seconds,
        )
        container.logged_emitter.override(providers.Object(emitter))
        container.publisher.override(providers.Object(LoggedPublisher(emitter)))
    else:
        container.publisher.override(providers.Object(ManagerPublisher(manager)))
    claim = container.claim_jobs()
    container.scheduler().on_finished(claim.finished)
    metrics = container.metrics()
    metrics.watch(running_jobs=lambda: container.scheduler().running)
    metrics_runner = (
        await serve_metrics(metrics, settings.flask_host, settings.metrics_port) if settings.metrics_port else None
    )
    async with running(container):
        log.info("worker %s claiming jobs every %.1f s", settings.node_id, settings.worker_poll_seconds)
        loop = asyncio.get_running_loop()
        claiming = loop.create_task(every(settings.worker_poll_seconds, claim, "job claims", at_start=True))
        start_publishing(container)
        try:
            await stop.wait()
        finally:
            claiming.cancel()
            await asyncio.gather(claiming, return_exceptions=True)
            for job_id in list(claim.running):
                await claim.finished(job_id)
    await manager.close()
    if metrics_runner is not None:
        await metrics_runner.cleanup()


def start_publishing(container: Container) -> None:
    """Publishes approved captions from this process; a lone process takes over the claims its last run left."""
    settings: Settings = container.settings()
    container.publish_loop().start(
        container.publish_captions(), settings.publish_poll_seconds, take_over_claims=settings.bus == MEMORY
    )


def new_token_key() -> str:
    """A fresh PLATFORM_TOKEN_KEY."""
    return TokenCipher.new_key()
