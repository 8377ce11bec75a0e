"""Users, their roles, and the server-side sessions that authenticate their sockets."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Final

# The one rule for usernames (the CLI, the HTTP API and the session schema all check this one).
USERNAME: Final = re.compile(r"[A-Za-z0-9_.]{1,100}")


def valid_username(name: str) -> bool:
    """ASCII letters, digits, '_' and '.', 1-100 of them (str.isalnum would let any Unicode letter in)."""
    return USERNAME.fullmatch(name) is not None


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
