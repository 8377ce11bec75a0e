"""Clients of the outside world: the platforms' APIs and the vision model (or their demo stand-ins), with their probes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol

from dependency_injector import containers, providers

from adapters.outbound.demo.captions import DemoCaptionGenerator
from adapters.outbound.demo.descriptions import DemoDescriptionWriter
from adapters.outbound.demo.posts import DemoPostSource
from adapters.outbound.health_probes import OllamaHealthProbe, PlatformApisHealthProbe
from adapters.outbound.ollama import OllamaCaptionGenerator
from adapters.outbound.platforms.descriptions import MastodonDescriptionWriter
from adapters.outbound.platforms.mastodon import MastodonPostSource
from application.platforms import TrackPlatformReachability
from composition.config import Settings


class HttpClient(Protocol):
    async def close(self) -> None: ...


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


def _http_clients(
    settings: Settings, posts: HttpClient, captions: HttpClient, writer: HttpClient, probes: list[HttpClient]
) -> list[HttpClient]:
    """The clients that hold an aiohttp session: the real platform and model clients, and every service probe."""
    clients = list(probes)
    if settings.post_source == "mastodon":
        clients += [posts, writer]
    if settings.caption_generator == "ollama":
        clients.append(captions)
    return clients


async def http_sessions(clients: list[HttpClient]) -> AsyncIterator[list[HttpClient]]:
    """The HTTP sessions' lifetime: each client opens its session on first use; all are closed at the end."""
    yield clients
    for client in clients:
        await client.close()


class Clients(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    credentials: providers.Dependency[Any] = providers.Dependency()
    platforms: providers.Dependency[Any] = providers.Dependency()
    outbox: providers.Dependency[Any] = providers.Dependency()

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
    description_writer = providers.Selector(
        post_source_kind,
        demo=providers.Singleton(DemoDescriptionWriter, settings.provided.demo_publish_delay),
        mastodon=providers.Singleton(_description_writer, settings, credentials),
    )
    track_reachability = providers.Singleton(TrackPlatformReachability, platforms, outbox)
    service_probes = providers.Singleton(_service_probes, settings, platforms, track_reachability)
    http_clients = providers.Callable(
        _http_clients, settings, post_source, caption_generator, description_writer, service_probes
    )
