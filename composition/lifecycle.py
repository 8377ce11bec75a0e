"""Start and stop: the container's resources opened and closed around a body, publishing, schema upgrades."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from adapters.outbound.sql.engine import migrate
from adapters.stopping import finish_within
from composition.config import MEMORY, Settings
from composition.container import Container

SHUTDOWN_SECONDS = 20.0


@contextlib.asynccontextmanager
async def running(container: Container) -> AsyncIterator[Container]:
    """Opens what the container holds open (database migrated, Redis listeners) and closes it all again,
    each part after those that use it (see the lifetimes in composition/container.py)."""
    try:
        await container.init_resources()  # type: ignore[misc]  # every lifetime is async, so this is awaitable
        yield container
    finally:
        # Bounded: every lifetime stops its own tasks within a few seconds; this is the backstop for one that doesn't.
        closing = container.shutdown_resources()
        assert closing is not None  # every lifetime is async, so this is an awaitable
        await finish_within(closing, "closing the container's resources", seconds=SHUTDOWN_SECONDS)


def start_publishing(container: Container) -> None:
    """Publishes approved captions from this process; a lone process takes over the claims its last run left."""
    settings: Settings = container.settings()
    container.publish_loop().start(
        container.publish_captions(), settings.publish_poll_seconds, take_over_claims=settings.bus == MEMORY
    )


async def upgrade_database(settings: Settings) -> None:
    if settings.backend != MEMORY:
        await migrate(settings.database_url)
