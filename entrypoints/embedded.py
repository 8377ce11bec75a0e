"""A container for a host that runs the use cases without our socket server (README: Embedding)."""

from __future__ import annotations

from typing import Any

from dependency_injector import providers

from composition.config import Settings
from composition.container import Container, build_container


def embedded(settings: Settings, publisher: Any, transport: Any | None = None) -> Container:
    """`publisher` delivers events (anything with the Publisher port's `publish`); `transport` is only
    needed if the host also feeds client events through the gate."""
    container = build_container(settings)
    container.publisher.override(providers.Object(publisher))
    if transport is not None:
        container.transport.override(providers.Object(transport))
    return container
