"""Who a browser's session cookie stands for: the user and live session, or why it stands for nobody."""

from __future__ import annotations

from application.ports import Clock, SessionRepository, UserRepository
from domain.access import USER_NAMESPACE, authorize_connection
from domain.errors import DomainError, ErrorCode
from domain.identity import Session, User


class WhoAmI:
    """The same rules as a socket connect (`authorize_connection`), for cookie-authenticated HTTP calls."""

    def __init__(self, users: UserRepository, sessions: SessionRepository, clock: Clock) -> None:
        self._users = users
        self._sessions = sessions
        self._clock = clock

    async def __call__(self, session_id: str | None, namespace: str = USER_NAMESPACE) -> tuple[User, Session]:
        """Raises AUTH_REQUIRED without a session id, AUTH_INVALID_SESSION for a dead one, and
        AUTH_INSUFFICIENT_PRIVILEGES for a non-admin when `namespace` is "/admin"."""
        if not session_id:
            raise DomainError(ErrorCode.AUTH_REQUIRED, "Authentication required")
        session = await self._sessions.get(session_id)
        user = await self._users.get(session.user_id) if session is not None else None
        user = authorize_connection(session, user, namespace, self._clock.now())
        assert session is not None  # authorize_connection refuses a missing session
        return user, session
