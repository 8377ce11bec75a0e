"""The Ollama and platform-API health probes against fake servers on 127.0.0.1: healthy, degraded, unhealthy."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from adapters.outbound.health_probes import OllamaHealthProbe, PlatformApisHealthProbe
from domain.health import Health
from tests.integration.fakes import unused_port
from tests.integration.fakes.mastodon import FakeMastodon
from tests.integration.fakes.ollama import FakeOllama


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def ollama() -> AsyncIterator[FakeOllama]:
    server = FakeOllama(models=["llava:latest", "moondream:1.8b"])
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def instances() -> AsyncIterator[list[FakeMastodon]]:
    servers = [FakeMastodon(), FakeMastodon()]
    for server in servers:
        await server.start()
    yield servers
    for server in servers:
        await server.stop()


@pytest.mark.parametrize("model", ["llava", "llava:latest", "moondream:1.8b"])
async def test_ollama_healthy_with_the_model(ollama: FakeOllama, http: aiohttp.ClientSession, model: str) -> None:
    health = await OllamaHealthProbe(http, ollama.base_url, model).check()
    assert health.component == "ollama"
    assert health.status is Health.HEALTHY
    assert health.metrics["version"] == "0.5.7"
    assert health.metrics["model"] == model
    assert health.metrics["model_present"] is True
    assert health.metrics["latency_ms"] >= 0


async def test_ollama_degraded_without_the_model(ollama: FakeOllama, http: aiohttp.ClientSession) -> None:
    health = await OllamaHealthProbe(http, ollama.base_url, "moondream").check()  # only moondream:1.8b is pulled
    assert health.status is Health.DEGRADED
    assert "moondream" in health.detail
    assert health.metrics["model_present"] is False


async def test_ollama_unhealthy_when_unreachable(http: aiohttp.ClientSession) -> None:
    health = await OllamaHealthProbe(http, f"http://127.0.0.1:{unused_port()}", "llava").check()
    assert health.status is Health.UNHEALTHY
    assert "unreachable" in health.detail


async def test_ollama_unhealthy_when_too_slow(ollama: FakeOllama, http: aiohttp.ClientSession) -> None:
    ollama.delay = 0.5
    health = await OllamaHealthProbe(http, ollama.base_url, "llava", timeout=0.1).check()
    assert health.status is Health.UNHEALTHY
    assert "timed out" in health.detail


def lister(urls: list[str]) -> PlatformApisHealthProbe:
    async def instances() -> list[str]:
        return urls

    return PlatformApisHealthProbe(None, instances, timeout=0.5)


async def test_platforms_healthy_when_all_answer(instances: list[FakeMastodon]) -> None:
    first, second = (server.base_url for server in instances)
    probe = lister([first, first + "/", second])
    try:
        health = await probe.check()
    finally:
        await probe.close()
    assert health.component == "platform_apis"
    assert health.status is Health.HEALTHY
    assert health.metrics["reachable"] == 2
    assert health.metrics["unreachable"] == []
    assert set(health.metrics["latency_ms"]) == {first, second}
    assert len(instances[0].hits("/api/v1/instance")) == 1  # duplicates are asked once


async def test_platforms_degraded_when_some_fail(instances: list[FakeMastodon], http: aiohttp.ClientSession) -> None:
    instances[1].failures["instance"] = [503]
    dead = f"http://127.0.0.1:{unused_port()}"

    async def urls() -> list[str]:
        return [instances[0].base_url, instances[1].base_url, dead]

    health = await PlatformApisHealthProbe(http, urls, timeout=0.5).check()
    assert health.status is Health.DEGRADED
    assert health.metrics["reachable"] == 1
    assert sorted(health.metrics["unreachable"]) == sorted([instances[1].base_url, dead])


async def test_platforms_unhealthy_when_all_fail(instances: list[FakeMastodon], http: aiohttp.ClientSession) -> None:
    instances[0].delay = 1.0

    async def urls() -> list[str]:
        return [instances[0].base_url, f"http://127.0.0.1:{unused_port()}"]

    health = await PlatformApisHealthProbe(http, urls, timeout=0.2).check()
    assert health.status is Health.UNHEALTHY
    assert health.metrics["reachable"] == 0


async def test_platforms_healthy_with_no_instances(http: aiohttp.ClientSession) -> None:
    async def none() -> list[str]:
        return []

    health = await PlatformApisHealthProbe(http, none).check()
    assert health.status is Health.HEALTHY
    assert health.metrics["instances"] == 0


async def test_platforms_probe_never_raises(http: aiohttp.ClientSession) -> None:
    async def broken() -> list[str]:
        raise RuntimeError("database is down")

    health = await PlatformApisHealthProbe(http, broken).check()
    assert health.status is Health.DEGRADED
    assert "database is down" in health.detail
