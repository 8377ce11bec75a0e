"""The use cases of connections and sessions: connect, client events, notifications, status, revocation, demo."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from typing import Any

import orjson
from dependency_injector import containers, providers

from adapters.outbound.admin_activity import DeferredAdminActivity
from adapters.outbound.memory.fleet import LocalRevocations
from adapters.outbound.redis.revocations import RedisRevocationBus
from adapters.outbound.system import ProcessProbe
from application.client_events import ClientEventGate
from application.connect import ConnectClient, DisconnectClient, EndConnections
from application.demo import SeedDemo
from application.fleet import RenewConnectionLeases
from application.notifications import NotifyAdmins, NotifyUser, RaiseAdminAlert
from application.platforms import ConnectPlatform
from application.recovery import RecoveringDisconnect
from application.rooms import JoinRoom, LeaveRoom
from application.routes import client_routes
from application.sessions import AddUser, IssueSession, RevokeSession, SweepSessions
from application.system_status import PublishSystemStatus
from application.whoami import WhoAmI
from composition.config import Settings


def measure(data: Any) -> int:
    """Bytes of an event's data as JSON; what cannot be measured (nesting past orjson's 254 levels, types it
    refuses) fails closed: larger than any limit."""
    try:
        return len(orjson.dumps(data))
    except TypeError:
        return sys.maxsize


async def listening(
    settings: Settings, signals: Any, revocations: Any, logged: Any, *_after: Any
) -> AsyncIterator[None]:
    """With Redis: job signals, revocations and (with recovery) the event log listen from start to end;
    `_after` (the Redis connections they use) close after they stopped. Without Redis nothing listens."""
    listeners = []
    if settings.bus == "redis":
        listeners = [signals(), revocations()]
        if settings.recovery_enabled:
            listeners.append(logged())  # reads the log channel (and what it missed)
    for listener in listeners:
        await listener.start()
    yield None
    for listener in listeners:
        await listener.stop()


class UseCases(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    clock: providers.Dependency[Any] = providers.Dependency()
    tokens: providers.Dependency[Any] = providers.Dependency()
    security: providers.Dependency[Any] = providers.Dependency()
    storage = providers.DependenciesContainer()
    fleet = providers.DependenciesContainer()
    transport = providers.DependenciesContainer()
    clients = providers.DependenciesContainer()
    jobs = providers.DependenciesContainer()
    bus = providers.Callable(lambda s: s.bus, settings)
    limits = providers.Callable(lambda s: s.limits, settings)

    registry = transport.registry
    outbox = transport.outbox
    end_connections = providers.Singleton(
        EndConnections, registry, transport.transport, outbox, settings.provided.login_url
    )
    # Connects and disconnects are answered first; their user_activity_update for admins follows.
    admin_activity = providers.Singleton(DeferredAdminActivity, outbox)
    connect = providers.Singleton(
        ConnectClient,
        storage.session_source,
        registry,
        fleet.rates,
        fleet.slots,
        transport.transport,
        outbox,
        clock,
        limits,
        security,
        admin_activity,
    )
    plain_disconnect = providers.Singleton(DisconnectClient, registry, fleet.slots, outbox, admin_activity)
    disconnect = providers.Selector(
        transport.recovery_mode,
        off=plain_disconnect,
        on=providers.Singleton(RecoveringDisconnect, transport.recovery, registry, plain_disconnect),
    )
    join_room = providers.Singleton(JoinRoom, transport.transport)
    leave_room = providers.Singleton(LeaveRoom, transport.transport)
    # Each client event's use case, under the event's name (the table is application/routes.py).
    routes = providers.Singleton(
        client_routes,
        join_room=join_room,
        leave_room=leave_room,
        request_caption_status=jobs.request_caption_status,
        pause_caption_generation=jobs.pause,
        resume_caption_generation=jobs.resume,
    )
    gate = providers.Singleton(
        ClientEventGate,
        registry,
        routes,
        fleet.rates,
        end_connections,
        outbox,
        clock,
        limits,
        providers.Object(measure),
        security,
        csrf_matches=storage.session_source.provided.csrf_matches,
    )

    notify_user = providers.Singleton(NotifyUser, storage.users, outbox, tokens)
    notify_admins = providers.Singleton(NotifyAdmins, outbox, tokens)
    raise_alert = providers.Singleton(RaiseAdminAlert, outbox, tokens)
    system_probe = providers.Singleton(ProcessProbe)
    status_probes = providers.Callable(
        lambda *groups: [p for g in groups for p in g],
        storage.health_probes,
        fleet.redis_probes,
        clients.service_probes,
    )
    connect_platform = providers.Singleton(
        ConnectPlatform,
        storage.users,
        storage.platforms,
        storage.credentials,
        storage.unit_of_work,
        clients.post_source,
        outbox,
    )
    system_status = providers.Singleton(
        PublishSystemStatus,
        registry,
        system_probe,
        status_probes,
        outbox,
        raise_alert,
        security,
        fleet.fleet,
        settings.provided.node_id,
    )
    renew_connection_leases = providers.Singleton(RenewConnectionLeases, registry, fleet.slots)
    add_user = providers.Singleton(AddUser, storage.users)
    issue_session = providers.Singleton(
        IssueSession, storage.users, storage.sessions, tokens, clock, settings.provided.session_ttl_seconds
    )
    whoami = providers.Singleton(WhoAmI, storage.users, storage.sessions, clock)
    # A revoked session leaves this node's session view, then its sockets here are ended.
    on_sessions_revoked = providers.Callable(
        lambda cache, end: cache.on_revoked(end.for_sessions), storage.session_source, end_connections
    )
    revocations = providers.Selector(
        bus,
        memory=providers.Singleton(LocalRevocations, on_sessions_revoked),
        redis=providers.Singleton(
            RedisRevocationBus,
            fleet.redis,
            channel=settings.provided.revocations_channel,
            on_revoked=on_sessions_revoked,
        ),
    )
    revoke_session = providers.Singleton(RevokeSession, storage.sessions, revocations)
    sweep_sessions = providers.Singleton(SweepSessions, registry, storage.session_source, end_connections, clock)
    seed_demo = providers.Singleton(SeedDemo, storage.users, storage.platforms)
