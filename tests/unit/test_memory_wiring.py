"""What the composition root wires for DATABASE_URL=memory keeps the rules the SQL adapters keep."""

from __future__ import annotations

import pytest

from application.port_errors import NotFound
from composition.config import ExplicitSettings
from composition.storage import Storage
from domain.identity import Role
from domain.platforms import PlatformType


async def test_memory_platform_connections_need_an_existing_user_as_the_foreign_key_does() -> None:
    storage = Storage(settings=ExplicitSettings(database_url="memory"), metrics=object(), clock=object())
    users, platforms = storage.users(), storage.platforms()
    with pytest.raises(NotFound):
        await platforms.add(999, "nobody's", PlatformType.MASTODON, "https://m.example")
    user = await users.add("owner", Role.REVIEWER)
    platform = await platforms.add(user.id, "mine", PlatformType.MASTODON, "https://m.example")
    assert platform.user_id == user.id


async def test_memory_unit_of_work_covers_the_platforms_and_credentials_the_use_cases_get() -> None:
    storage = Storage(settings=ExplicitSettings(database_url="memory"), metrics=object(), clock=object())
    owner = await storage.users().add("owner", Role.REVIEWER)
    platforms = storage.platforms()
    with pytest.raises(RuntimeError):
        async with storage.unit_of_work().transaction():
            await platforms.add(owner.id, "undone", PlatformType.MASTODON, "https://m.example")
            raise RuntimeError("the block fails")
    assert await platforms.for_user(owner.id) == []
