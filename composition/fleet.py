"""The fleet: what nodes and workers share through Redis (limits, slots, job signals and leases), or this process alone."""

from __future__ import annotations

from collections.abc import AsyncIterator

from dependency_injector import containers, providers
from redis.asyncio import Redis

from adapters.observability.metered import MeteredRateLimitStore, MeteredSlotStore, TimedRedis
from adapters.observability.metrics import Metrics
from adapters.outbound.memory.fleet import LocalFleetView
from adapters.outbound.memory.limits import InMemoryConnectionSlotStore, InMemoryRateLimitStore
from adapters.outbound.memory.signals import LocalJobSignals
from adapters.outbound.redis.client import client_options, unbounded_options
from adapters.outbound.redis.failover import FailoverRateLimitStore, FailoverSlotStore
from adapters.outbound.redis.fleet import RedisFleetView, RedisJobLeases
from adapters.outbound.redis.health import RedisHealthProbe
from adapters.outbound.redis.limits import RedisConnectionSlotStore, RedisRateLimitStore
from adapters.outbound.redis.signals import RedisJobSignals
from composition.config import Settings


def _redis(url: str | None, metrics: Metrics, *, bounded: bool = True) -> Redis | None:
    if not url:
        return None
    options = client_options() if bounded else unbounded_options()
    client: TimedRedis = TimedRedis.from_url(url, **options)  # type: ignore[assignment]  # from_url is typed as Redis
    client.latency = metrics.redis_latency
    return client


def key(settings: Settings, name: str) -> str:
    return settings.redis_key(name)


async def redis_connection(redis: Redis | None, *others: Redis | None) -> AsyncIterator[Redis | None]:
    """The Redis clients' lifetime: their pools are closed at the end (connections open on first use)."""
    yield redis
    for client in (redis, *others):
        if client is not None:
            await client.aclose()


class Fleet(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    metrics = providers.Dependency(instance_of=Metrics)
    bus = providers.Callable(lambda s: s.bus, settings)

    redis = providers.Singleton(_redis, settings.provided.redis_url, metrics)
    # The limiter's own client: its calls are on every event's path and it bounds them itself (see unbounded_options).
    limiter_redis = providers.Singleton(_redis, settings.provided.redis_url, metrics, bounded=False)
    local_rates = providers.Singleton(InMemoryRateLimitStore)
    local_slots = providers.Singleton(InMemoryConnectionSlotStore)
    unmetered_rates = providers.Selector(
        bus,
        memory=local_rates,
        redis=providers.Singleton(
            FailoverRateLimitStore,
            providers.Singleton(RedisRateLimitStore, limiter_redis, providers.Callable(key, settings, "rl:")),
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
                providers.Callable(key, settings, "conn:"),
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
        redis=providers.Singleton(
            RedisJobSignals, redis, channel=settings.provided.jobs_channel, on_lost=metrics.provided.lost_wake
        ),
    )
    fleet = providers.Selector(
        bus,
        memory=providers.Singleton(LocalFleetView),
        redis=providers.Singleton(RedisFleetView, redis, providers.Callable(key, settings, "fleet")),
    )
    job_leases = providers.Singleton(
        RedisJobLeases,
        redis,
        providers.Callable(key, settings, "job-claim:"),
        lease_seconds=settings.provided.job_lease_seconds,
    )
    redis_probes = providers.Selector(
        bus, memory=providers.List(), redis=providers.List(providers.Singleton(RedisHealthProbe, redis))
    )
