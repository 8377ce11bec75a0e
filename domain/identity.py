"""Users, their roles, and the server-side sessions that authenticate their sockets."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    MODERATOR = "moderator"
    REVIEWER = "reviewer"
    VIEWER = "viewer"


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    role: Role
    active: bool = True

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    user_id: int
    csrf_token: str
    created_at: float
    last_seen_at: float
    expires_at: float
    revoked: bool = False

    def is_live(self, now: float) -> bool:
        return not self.revoked and now < self.expires_at

    def revoke(self) -> Session:
        return replace(self, revoked=True)

    def seen(self, now: float) -> Session:
        return replace(self, last_seen_at=max(self.last_seen_at, now))


def new_session(session_id: str, csrf_token: str, user: User, now: float, ttl_seconds: float) -> Session:
    if ttl_seconds <= 0:
        raise ValueError("a session needs a positive lifetime")
    return Session(
        id=session_id,
        user_id=user.id,
        csrf_token=csrf_token,
        created_at=now,
        last_seen_at=now,
        expires_at=now + ttl_seconds,
    )
