"""UserRepository contract, run against every backend."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from application.port_errors import Conflict
from domain.identity import Role, User

if TYPE_CHECKING:
    from conftest import Backend


async def test_add_assigns_increasing_ids_from_one(backend: Backend) -> None:
    first = await backend.users.add("alice", Role.ADMIN)
    second = await backend.users.add("bob", Role.VIEWER, active=False)
    assert first == User(id=1, username="alice", role=Role.ADMIN, active=True)
    assert second == User(id=2, username="bob", role=Role.VIEWER, active=False)


async def test_get_and_get_by_username_return_what_was_added(backend: Backend) -> None:
    added = await backend.users.add("carol", Role.REVIEWER)
    assert await backend.users.get(added.id) == added
    assert await backend.users.get_by_username("carol") == added
    fetched = await backend.users.get(added.id)
    assert fetched is not None and fetched.role is Role.REVIEWER


async def test_unknown_user_is_none(backend: Backend) -> None:
    await backend.users.add("dave", Role.VIEWER)
    assert await backend.users.get(999) is None
    assert await backend.users.get_by_username("nobody") is None


async def test_username_lookup_is_exact(backend: Backend) -> None:
    await backend.users.add("erin", Role.VIEWER)
    assert await backend.users.get_by_username("Erin") is None
    assert await backend.users.get_by_username("eri") is None


async def test_duplicate_username_is_refused(backend: Backend) -> None:
    await backend.users.add("frank", Role.VIEWER)
    with pytest.raises(Conflict):
        await backend.users.add("frank", Role.ADMIN)
    assert (await backend.users.get_by_username("frank")).role is Role.VIEWER


async def test_set_active_toggles_only_that_user(backend: Backend) -> None:
    gina = await backend.users.add("gina", Role.MODERATOR)
    hal = await backend.users.add("hal", Role.MODERATOR)
    await backend.users.set_active(gina.id, False)
    assert (await backend.users.get(gina.id)).active is False
    assert (await backend.users.get(hal.id)).active is True
    await backend.users.set_active(gina.id, True)
    assert (await backend.users.get(gina.id)).active is True


async def test_set_active_on_unknown_user_is_a_no_op(backend: Backend) -> None:
    await backend.users.set_active(42, False)
    assert await backend.users.get(42) is None
