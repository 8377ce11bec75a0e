"""Fixtures: a Redis client confined to a key prefix per test, and stores over [memory twin, Redis]."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
from redis.asyncio import Redis

from adapters.outbound.memory.limits import InMemoryConnectionSlotStore, InMemoryRateLimitStore
from adapters.outbound.redis.client import redis_from_url
from adapters.outbound.redis.limits import RedisConnectionSlotStore, RedisRateLimitStore
from application.ports import ConnectionSlotStore, RateLimitStore

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_prefix() -> str:
    return f"vrt-test:{uuid.uuid4().hex}:"


@asynccontextmanager
async def prefixed_redis(prefix: str) -> AsyncIterator[Redis]:
    """A client on the shared server; every key under `prefix` is deleted afterwards (never FLUSHALL)."""
    client = redis_from_url(REDIS_URL)
    try:
        yield client
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=1000)]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@pytest.fixture
async def redis(redis_prefix: str) -> AsyncIterator[Redis]:
    """The test must put every key under `redis_prefix`."""
    async with prefixed_redis(redis_prefix) as client:
        yield client


@dataclass
class RateBackend:
    name: str
    new_store: Callable[[], RateLimitStore]
    """An empty store each call (Redis: a fresh key prefix); Redis stores here run on the caller's clock."""


@dataclass
class SlotBackend:
    name: str
    new_store: Callable[[], ConnectionSlotStore]
    count: Callable[[ConnectionSlotStore, str], Awaitable[int]]


def _fresh_prefixes(prefix: str) -> Callable[[], str]:
    counter = itertools.count()
    return lambda: f"{prefix}{next(counter)}:"


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def rate_backend(request: pytest.FixtureRequest, redis_prefix: str) -> AsyncIterator[RateBackend]:
    if request.param == "memory":
        yield RateBackend("memory", InMemoryRateLimitStore)
        return
    prefixes = _fresh_prefixes(redis_prefix)
    async with prefixed_redis(redis_prefix) as client:
        yield RateBackend("redis", lambda: RedisRateLimitStore(client, prefixes(), trust_caller_clock=True))


@pytest.fixture
def rate_store(rate_backend: RateBackend) -> RateLimitStore:
    return rate_backend.new_store()


async def _redis_count(store: ConnectionSlotStore, key: str) -> int:
    assert isinstance(store, RedisConnectionSlotStore)
    return await store.count(key)


async def _memory_count(store: ConnectionSlotStore, key: str) -> int:
    assert isinstance(store, InMemoryConnectionSlotStore)
    return store.count(key)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def slot_backend(request: pytest.FixtureRequest, redis_prefix: str) -> AsyncIterator[SlotBackend]:
    if request.param == "memory":
        yield SlotBackend("memory", InMemoryConnectionSlotStore, _memory_count)
        return
    prefixes = _fresh_prefixes(redis_prefix)
    async with prefixed_redis(redis_prefix) as client:
        yield SlotBackend("redis", lambda: RedisConnectionSlotStore(client, prefixes()), _redis_count)


@pytest.fixture
def slot_store(slot_backend: SlotBackend) -> ConnectionSlotStore:
    return slot_backend.new_store()
