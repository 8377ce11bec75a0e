"""SessionRepository contract, run against every backend."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from application.port_errors import Conflict, NotFound
from domain.identity import Role, Session, User

if TYPE_CHECKING:
    from conftest import Backend

NOW = 1_700_000_000.25


def _session(user: User, session_id: str, *, ttl: float = 3600.0, created: float = NOW) -> Session:
    return Session(
        id=session_id,
        user_id=user.id,
        csrf_token=f"csrf-{session_id}",
        created_at=created,
        last_seen_at=created,
        expires_at=created + ttl,
    )


@pytest.fixture
async def user(backend: Backend) -> User:
    return await backend.users.add("sam", Role.VIEWER)


async def test_add_then_get_round_trips_every_field(backend: Backend, user: User) -> None:
    session = _session(user, "s1")
    await backend.sessions.add(session)
    stored = await backend.sessions.get("s1")
    assert stored == session
    assert stored.created_at == pytest.approx(NOW, abs=1e-6)


async def test_unknown_session_is_none(backend: Backend, user: User) -> None:
    await backend.sessions.add(_session(user, "s1"))
    assert await backend.sessions.get("nope") is None


async def test_duplicate_session_id_is_refused(backend: Backend, user: User) -> None:
    await backend.sessions.add(_session(user, "s1"))
    with pytest.raises(Conflict):
        await backend.sessions.add(_session(user, "s1", ttl=10))
    assert (await backend.sessions.get("s1")).expires_at == NOW + 3600


async def test_session_for_unknown_user_is_refused(backend: Backend, user: User) -> None:
    ghost = User(id=999, username="ghost", role=Role.VIEWER)
    with pytest.raises(NotFound):
        await backend.sessions.add(_session(ghost, "s1"))
    assert await backend.sessions.get("s1") is None


async def test_revoke_marks_revoked_and_reports_whether_found(backend: Backend, user: User) -> None:
    await backend.sessions.add(_session(user, "s1"))
    await backend.sessions.add(_session(user, "s2"))
    assert await backend.sessions.revoke("s1") is True
    assert await backend.sessions.revoke("missing") is False
    assert (await backend.sessions.get("s1")).revoked is True
    assert (await backend.sessions.get("s2")).revoked is False


async def test_live_sessions_are_not_dead(backend: Backend, user: User) -> None:
    await backend.sessions.add(_session(user, "s1"))
    await backend.sessions.add(_session(user, "s2"))
    assert await backend.sessions.dead_among({"s1", "s2"}, NOW + 10) == set()


async def test_dead_among_reports_unknown_sessions(backend: Backend, user: User) -> None:
    await backend.sessions.add(_session(user, "s1"))
    assert await backend.sessions.dead_among(["s1", "unknown"], NOW) == {"unknown"}


async def test_dead_among_reports_revoked_sessions(backend: Backend, user: User) -> None:
    await backend.sessions.add(_session(user, "s1"))
    await backend.sessions.add(_session(user, "s2"))
    await backend.sessions.revoke("s2")
    assert await backend.sessions.dead_among(["s1", "s2"], NOW) == {"s2"}


async def test_dead_among_reports_expired_sessions_from_the_expiry_instant(backend: Backend, user: User) -> None:
    await backend.sessions.add(_session(user, "short", ttl=60))
    await backend.sessions.add(_session(user, "long", ttl=3600))
    assert await backend.sessions.dead_among(["short", "long"], NOW + 59.5) == set()
    assert await backend.sessions.dead_among(["short", "long"], NOW + 60) == {"short"}
    assert await backend.sessions.dead_among(["short", "long"], NOW + 3600) == {"short", "long"}


async def test_dead_among_reports_sessions_of_inactive_users(backend: Backend, user: User) -> None:
    other = await backend.users.add("other", Role.VIEWER)
    await backend.sessions.add(_session(user, "mine"))
    await backend.sessions.add(_session(other, "theirs"))
    await backend.users.set_active(user.id, False)
    assert await backend.sessions.dead_among(["mine", "theirs"], NOW) == {"mine"}
    await backend.users.set_active(user.id, True)
    assert await backend.sessions.dead_among(["mine", "theirs"], NOW) == set()


async def test_dead_among_of_nothing_is_empty(backend: Backend, user: User) -> None:
    assert await backend.sessions.dead_among([], NOW) == set()


async def test_dead_among_handles_many_ids(backend: Backend, user: User) -> None:
    await backend.sessions.add(_session(user, "s1"))
    ids = {f"x{i}" for i in range(12_000)} | {"s1"}
    assert await backend.sessions.dead_among(ids, NOW) == ids - {"s1"}


async def test_touch_moves_last_seen_forward_only(backend: Backend, user: User) -> None:
    await backend.sessions.add(_session(user, "s1"))
    await backend.sessions.add(_session(user, "s2"))
    await backend.sessions.touch(["s1", "unknown"], NOW + 30)
    assert (await backend.sessions.get("s1")).last_seen_at == pytest.approx(NOW + 30, abs=1e-6)
    assert (await backend.sessions.get("s2")).last_seen_at == pytest.approx(NOW, abs=1e-6)
    await backend.sessions.touch({"s1"}, NOW + 5)
    assert (await backend.sessions.get("s1")).last_seen_at == pytest.approx(NOW + 30, abs=1e-6)


async def test_touch_does_not_revive_or_extend(backend: Backend, user: User) -> None:
    await backend.sessions.add(_session(user, "s1", ttl=60))
    await backend.sessions.revoke("s1")
    await backend.sessions.touch(["s1"], NOW + 10)
    stored = await backend.sessions.get("s1")
    assert stored.revoked is True
    assert stored.expires_at == pytest.approx(NOW + 60, abs=1e-6)
