"""UnitOfWork contract over memory, SQLite and Postgres: a platform connection and its token commit together or not at all."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from adapters.outbound.crypto import TokenCipher
from application.ports import NotFound, PlatformUnavailable
from domain.identity import Role
from domain.platforms import PlatformType

if TYPE_CHECKING:
    from conftest import Backend

KEY = TokenCipher.new_key()


class Abandoned(Exception):
    pass


async def test_writes_in_a_block_that_raises_are_all_undone(backend: Backend) -> None:
    owner = await backend.users.add("owner", Role.REVIEWER)
    store = backend.credentials(TokenCipher(KEY))
    uow = backend.unit_of_work(store)
    with pytest.raises(Abandoned):
        async with uow.transaction():
            platform = await backend.platforms.add(owner.id, "Pix", PlatformType.PIXELFED, "https://pix.example")
            await store.store(platform.id, "token")
            raise Abandoned
    assert await backend.platforms.for_user(owner.id) == []
    assert await backend.platforms.get(platform.id) is None
    with pytest.raises(PlatformUnavailable):
        await store.token_for(platform)


async def test_writes_in_a_block_that_ends_are_all_kept(backend: Backend) -> None:
    owner = await backend.users.add("owner", Role.REVIEWER)
    store = backend.credentials(TokenCipher(KEY))
    uow = backend.unit_of_work(store)
    async with uow.transaction():
        platform = await backend.platforms.add(owner.id, "Pix", PlatformType.PIXELFED, "https://pix.example")
        await store.store(platform.id, "token")
    assert await backend.platforms.for_user(owner.id) == [platform]
    assert await store.token_for(platform) == "token"


async def test_a_block_inside_another_joins_it_and_a_failed_write_undoes_the_earlier_ones(backend: Backend) -> None:
    owner = await backend.users.add("owner", Role.REVIEWER)
    store = backend.credentials(TokenCipher(KEY))
    uow = backend.unit_of_work(store)
    with pytest.raises(NotFound):  # the port's taxonomy: an unknown user is NotFound on every backend
        async with uow.transaction():
            async with uow.transaction():
                await backend.platforms.add(owner.id, "Kept?", PlatformType.PIXELFED, "https://pix.example")
            await backend.platforms.add(owner.id + 1000, "Orphan", PlatformType.PIXELFED, "https://pix.example")
    assert await backend.platforms.for_user(owner.id) == []
