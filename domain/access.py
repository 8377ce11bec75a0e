"""Who may connect to which namespace, and which rooms a user may join."""

from __future__ import annotations

import re

from domain.errors import DomainError, ErrorCode
from domain.identity import Session, User

USER_NAMESPACE = "/"
ADMIN_NAMESPACE = "/admin"
ADMIN_ROOM = "admins"

_ROOM_NAME = re.compile(r"[A-Za-z0-9_:.\-]{1,100}")
_USER_SCOPED = re.compile(r"user_(\d{1,18})(?:_[A-Za-z0-9_:.\-]{1,80})?")


def personal_room(user_id: int) -> str:
    return f"user_{user_id}"


def captions_room(user_id: int) -> str:
    return f"user_{user_id}_captions"


def authorize_connection(session: Session | None, user: User | None, namespace: str, now: float) -> User:
    """The user a presented, found-or-not session stands for, or the reason to refuse it."""
    if session is None or user is None or not session.is_live(now) or not user.active:
        raise DomainError(ErrorCode.AUTH_INVALID_SESSION, "Invalid session or expired credentials")
    if session.user_id != user.id:
        raise DomainError(ErrorCode.AUTH_INVALID_SESSION, "Invalid session or expired credentials")
    if namespace == ADMIN_NAMESPACE and not user.is_admin:
        raise DomainError(ErrorCode.AUTH_INSUFFICIENT_PRIVILEGES, "Admin privileges are required for this namespace")
    return user


def check_room_access(user: User, room_name: str) -> None:
    """Users join rooms scoped to their own id (user_7, user_7_captions); admins join any valid room."""
    if not _ROOM_NAME.fullmatch(room_name):
        raise DomainError(
            ErrorCode.INVALID_MESSAGE,
            "Room names are 1-100 characters of letters, digits, '_', ':', '.' or '-'",
            field="room_name",
        )
    if user.is_admin:
        return
    scoped = _USER_SCOPED.fullmatch(room_name)
    if scoped is None or int(scoped.group(1)) != user.id:
        raise DomainError(
            ErrorCode.AUTH_INSUFFICIENT_PRIVILEGES,
            "You may only join rooms scoped to your own user id",
            room_name=room_name,
        )


def check_user_scope(actor: User, target_user_id: int) -> None:
    """A non-admin acts on their own user id only."""
    if target_user_id != actor.id and not actor.is_admin:
        raise DomainError(
            ErrorCode.AUTH_INSUFFICIENT_PRIVILEGES,
            "You may only act on your own user id",
            user_id=target_user_id,
        )
