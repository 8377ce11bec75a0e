"""Transport: the Socket.IO server, its client manager (local or Redis fan-out), recovery, and the outbox to clients."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

from dependency_injector import containers, providers

from adapters.inbound.socketio.engine_patches import RecoveringServer
from adapters.inbound.socketio.gateway import OrjsonModule, create_socket_server
from adapters.inbound.socketio.local_manager import DirectManager
from adapters.inbound.socketio.logged_delivery import LocalLoggedEmitter, LoggedPublisher
from adapters.inbound.socketio.redis_event_log import RedisLoggedEmitter
from adapters.inbound.socketio.redis_manager import DirectRedisManager
from adapters.inbound.socketio.transport import RecoveringTransport, SocketPublisher, SocketTransport
from adapters.observability.metered import MeteredPublisher
from adapters.observability.metrics import Metrics
from adapters.outbound.event_log import LocalEventLog
from adapters.outbound.memory.recovery import InMemoryRecoveryStates
from adapters.outbound.redis.publisher import ManagerPublisher
from adapters.outbound.redis.recovery import RedisRecoveryStates
from application.connections import ConnectionRegistry
from application.outbox import Outbox
from application.recovery import ConnectionRecovery, KeepRecoveryStates
from application.stamping import Stamp
from composition.config import Settings
from composition.fleet import key


def _event_log(settings: Settings) -> LocalEventLog:
    return LocalEventLog(settings.recovery_buffer_per_room, settings.recovery_window_seconds, os.urandom(6).hex())


def _server_class(settings: Settings) -> type[RecoveringServer] | None:
    return RecoveringServer if settings.recovery_enabled else None


async def fanout(settings: Settings, manager: Any) -> AsyncIterator[Any]:
    """The Redis fan-out's lifetime: its listener and publisher connections are closed at the end."""
    yield manager
    if settings.bus == "redis":
        await manager.close()


class Transport(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    metrics = providers.Dependency(instance_of=Metrics)
    clock: providers.Dependency[Any] = providers.Dependency()
    tokens: providers.Dependency[Any] = providers.Dependency()
    security: providers.Dependency[Any] = providers.Dependency()
    redis: providers.Dependency[Any] = providers.Dependency()
    bus = providers.Callable(lambda s: s.bus, settings)

    manager = providers.Selector(
        bus,
        memory=providers.Singleton(DirectManager),
        redis=providers.Singleton(
            DirectRedisManager, settings.provided.redis_url, settings.provided.redis_channel, json=OrjsonModule
        ),
    )
    # A worker emits through Redis and listens to nothing (run_worker puts these in the node's places).
    write_only_manager = providers.Singleton(
        DirectRedisManager,
        settings.provided.redis_url,
        settings.provided.redis_channel,
        write_only=True,
        json=OrjsonModule,
    )
    stamp = providers.Singleton(Stamp, clock, tokens)  # what the engine's own refusals are stamped with
    sio = providers.Singleton(
        create_socket_server,
        settings.provided.cors_origins,
        settings.provided.max_message_bytes,
        security,
        manager,
        settings.provided.outbound_limits,
        providers.Callable(_server_class, settings),
        stamp=stamp,
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
            providers.Callable(key, settings, "log"),
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
            providers.Callable(key, settings, "recovery:"),
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
    # A worker's events: numbered through the shared log (it delivers to no socket itself), or straight to Redis.
    worker_logged_emitter = providers.Singleton(
        RedisLoggedEmitter,
        redis,
        manager,
        None,
        providers.Callable(key, settings, "log"),
        per_room=settings.provided.recovery_buffer_per_room,
        total=settings.provided.recovery_log_events,
        window=settings.provided.recovery_window_seconds,
    )
    worker_publisher = providers.Selector(
        recovery_mode,
        off=providers.Singleton(ManagerPublisher, manager),
        on=providers.Singleton(LoggedPublisher, worker_logged_emitter),
    )
    metered_publisher = providers.Singleton(MeteredPublisher, publisher, metrics)
    outbox = providers.Singleton(Outbox, metered_publisher, transport, clock, tokens)
