"""The root container: the containers by concern, wired to each other, and the lifetimes of what they hold open."""

from __future__ import annotations

from dependency_injector import containers, providers

from adapters.observability.metrics import Metrics
from adapters.outbound.system import SecureTokens, SystemClock
from application.security import SecurityEvents
from composition.clients import Clients, http_sessions
from composition.config import Settings
from composition.fleet import Fleet, redis_connection
from composition.jobs import Jobs, running_jobs
from composition.storage import Storage, database, host_database
from composition.transport import Transport, fanout
from composition.use_cases import UseCases, listening


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    clock = providers.Singleton(SystemClock)
    tokens = providers.Singleton(SecureTokens)
    metrics = providers.Singleton(Metrics, settings.provided.node_id)
    security = providers.Singleton(SecurityEvents)

    storage = providers.Container(Storage, settings=settings, metrics=metrics, clock=clock)
    cluster = providers.Container(Fleet, settings=settings, metrics=metrics)
    delivery = providers.Container(
        Transport,
        settings=settings,
        metrics=metrics,
        clock=clock,
        tokens=tokens,
        security=security,
        redis=cluster.redis,
    )
    clients = providers.Container(
        Clients,
        settings=settings,
        credentials=storage.credentials,
        platforms=storage.platforms,
        outbox=delivery.outbox,
    )
    captioning = providers.Container(
        Jobs,
        settings=settings,
        clock=clock,
        tokens=tokens,
        storage=storage,
        fleet=cluster,
        transport=delivery,
        clients=clients,
    )
    use_cases = providers.Container(
        UseCases,
        settings=settings,
        clock=clock,
        tokens=tokens,
        security=security,
        storage=storage,
        fleet=cluster,
        transport=delivery,
        clients=clients,
        jobs=captioning,
    )

    # Lifetimes: opened by init_resources(), closed by shutdown_resources(), each after those that use it.
    # They own objects the providers above create (rather than creating them) because an async Resource
    # turns every provider that depends on it async; use cases would then be futures.
    database = providers.Resource(database, settings, storage.engine)
    host_database = providers.Resource(host_database, settings, storage.host_engine.provider)
    redis_connection = providers.Resource(redis_connection, cluster.redis, cluster.limiter_redis)
    fanout = providers.Resource(fanout, settings, delivery.manager)
    http_sessions = providers.Resource(http_sessions, clients.http_clients)
    listening = providers.Resource(
        listening,
        settings,
        cluster.signals.provider,
        use_cases.revocations.provider,
        delivery.logged_emitter.provider,
        redis_connection,
        fanout,
    )
    running_jobs = providers.Resource(
        running_jobs,
        captioning.scheduler,
        captioning.publish_loop,
        database,
        host_database,
        redis_connection,
        fanout,
        http_sessions,
        listening,
    )

    # The names embedders, the app and the tests reach for, wherever their concern keeps them.
    backend = storage.backend
    engine = storage.engine
    host_engine = storage.host_engine
    users = storage.users
    sessions = storage.sessions
    platforms = storage.platforms
    jobs = storage.jobs
    reviews = storage.reviews
    credentials = storage.credentials
    health_probes = storage.health_probes
    uncached_session_source = storage.uncached_session_source
    session_source = storage.session_source
    bus = cluster.bus
    redis = cluster.redis
    rates = cluster.rates
    slots = cluster.slots
    signals = cluster.signals
    fleet = cluster.fleet
    job_leases = cluster.job_leases
    manager = delivery.manager
    write_only_manager = delivery.write_only_manager
    worker_logged_emitter = delivery.worker_logged_emitter
    worker_publisher = delivery.worker_publisher
    sio = delivery.sio
    logged_emitter = delivery.logged_emitter
    recovery = delivery.recovery
    keep_recovery_states = delivery.keep_recovery_states
    transport = delivery.transport
    publisher = delivery.publisher
    outbox = delivery.outbox
    stamp = delivery.stamp
    registry = delivery.registry
    post_source = clients.post_source
    caption_generator = clients.caption_generator
    description_writer = clients.description_writer
    service_probes = clients.service_probes
    publish_loop = captioning.publish_loop
    review_queue = captioning.review_queue
    review_captions = captioning.review_captions
    publish_captions = captioning.publish_captions
    scheduler = captioning.scheduler
    start_job = captioning.start_job
    claim_jobs = captioning.claim_jobs
    inline_claims = captioning.inline_claims
    jobs_mode = captioning.jobs_mode
    recover_jobs = captioning.recover_jobs
    get_job = captioning.get_job
    cancel_job = captioning.cancel_job
    connect = use_cases.connect
    disconnect = use_cases.disconnect
    gate = use_cases.gate
    notify_user = use_cases.notify_user
    notify_admins = use_cases.notify_admins
    raise_alert = use_cases.raise_alert
    connect_platform = use_cases.connect_platform
    system_status = use_cases.system_status
    renew_connection_leases = use_cases.renew_connection_leases
    add_user = use_cases.add_user
    issue_session = use_cases.issue_session
    whoami = use_cases.whoami
    revocations = use_cases.revocations
    revoke_session = use_cases.revoke_session
    sweep_sessions = use_cases.sweep_sessions
    seed_demo = use_cases.seed_demo


def build_container(settings: Settings | None = None) -> Container:
    container = Container(settings=settings or Settings())
    container.check_dependencies()
    return container
