"""PlatformRepository contract, run against every backend."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from application.port_errors import NotFound
from domain.identity import Role
from domain.platforms import PlatformConnection, PlatformStatus, PlatformType

if TYPE_CHECKING:
    from conftest import Backend

SYNC = 1_700_000_123.5


async def _user_id(backend: Backend, name: str = "pat") -> int:
    return (await backend.users.add(name, Role.VIEWER)).id


async def test_add_assigns_ids_from_one_and_starts_disconnected(backend: Backend) -> None:
    owner = await _user_id(backend)
    first = await backend.platforms.add(owner, "Pix", PlatformType.PIXELFED, "https://pix.example")
    second = await backend.platforms.add(owner, "Toot", PlatformType.MASTODON, "https://toot.example")
    assert first == PlatformConnection(
        id=1,
        user_id=owner,
        name="Pix",
        platform_type=PlatformType.PIXELFED,
        instance_url="https://pix.example",
        status=PlatformStatus.DISCONNECTED,
        last_sync=None,
    )
    assert second.id == 2
    assert await backend.platforms.get(first.id) == first
    assert (await backend.platforms.get(second.id)).platform_type is PlatformType.MASTODON


async def test_unknown_platform_is_none(backend: Backend) -> None:
    assert await backend.platforms.get(7) is None


async def test_add_for_unknown_user_is_refused(backend: Backend) -> None:
    with pytest.raises(NotFound):
        await backend.platforms.add(404, "Pix", PlatformType.PIXELFED, "https://pix.example")


async def test_for_user_lists_only_that_users_connections_in_id_order(backend: Backend) -> None:
    owner = await _user_id(backend, "owner")
    other = await _user_id(backend, "other")
    a = await backend.platforms.add(owner, "A", PlatformType.PIXELFED, "https://a.example")
    await backend.platforms.add(other, "B", PlatformType.PIXELFED, "https://b.example")
    c = await backend.platforms.add(owner, "C", PlatformType.MASTODON, "https://c.example")
    assert await backend.platforms.for_user(owner) == [a, c]
    assert await backend.platforms.for_user(999) == []


async def test_set_status_returns_and_stores_the_update(backend: Backend) -> None:
    owner = await _user_id(backend)
    added = await backend.platforms.add(owner, "Pix", PlatformType.PIXELFED, "https://pix.example")
    updated = await backend.platforms.set_status(added.id, PlatformStatus.CONNECTED, SYNC)
    assert updated.status is PlatformStatus.CONNECTED
    assert updated.last_sync == pytest.approx(SYNC, abs=1e-6)
    assert updated.name == "Pix" and updated.user_id == owner
    assert await backend.platforms.get(added.id) == updated


async def test_set_status_without_last_sync_keeps_the_previous_one(backend: Backend) -> None:
    owner = await _user_id(backend)
    added = await backend.platforms.add(owner, "Pix", PlatformType.PIXELFED, "https://pix.example")
    await backend.platforms.set_status(added.id, PlatformStatus.CONNECTED, SYNC)
    syncing = await backend.platforms.set_status(added.id, PlatformStatus.SYNCING, None)
    assert syncing.status is PlatformStatus.SYNCING
    assert syncing.last_sync == pytest.approx(SYNC, abs=1e-6)


async def test_set_status_of_unknown_platform_raises_lookup_error(backend: Backend) -> None:
    with pytest.raises(NotFound):
        await backend.platforms.set_status(99, PlatformStatus.ERROR, None)


async def test_change_status_on_instance_changes_only_matching_connections_once(backend: Backend) -> None:
    owner = await _user_id(backend)
    a = await backend.platforms.add(owner, "A", PlatformType.PIXELFED, "https://pix.example")
    b = await backend.platforms.add(owner, "B", PlatformType.PIXELFED, "https://pix.example")
    c = await backend.platforms.add(owner, "C", PlatformType.MASTODON, "https://toot.example")
    await backend.platforms.set_status(a.id, PlatformStatus.CONNECTED, SYNC)
    await backend.platforms.set_status(b.id, PlatformStatus.ERROR, None)
    await backend.platforms.set_status(c.id, PlatformStatus.CONNECTED, None)
    down = (PlatformStatus.CONNECTED,)
    changed = await backend.platforms.change_status_on_instance(
        "https://pix.example", down, PlatformStatus.DISCONNECTED
    )
    assert [(p.id, p.status) for p in changed] == [(a.id, PlatformStatus.DISCONNECTED)]
    assert changed[0].last_sync == pytest.approx(SYNC, abs=1e-6)
    # a second caller (another node) finds nothing left to change
    assert (
        await backend.platforms.change_status_on_instance("https://pix.example", down, PlatformStatus.DISCONNECTED)
        == []
    )
    assert (await backend.platforms.get(b.id)).status is PlatformStatus.ERROR  # a refused token stays refused
    assert (await backend.platforms.get(c.id)).status is PlatformStatus.CONNECTED
    assert await backend.platforms.change_status_on_instance("https://pix.example", (), PlatformStatus.CONNECTED) == []
