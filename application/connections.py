"""This node's live connections: the local view of each one's session that every event is checked against."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from application.ports import RecoveryState
from domain.identity import User


@dataclass(slots=True)
class Connection:
    sid: str
    physical_id: str  # the Engine.IO connection; the namespaces of one browser tab share it
    namespace: str
    user: User
    session_id: str
    csrf_token: str | None  # kept only while the connection has not proven it (then every event must)
    expires_at: float
    revoked: bool = False
    rooms: frozenset[str] = frozenset()  # rooms joined on request (the automatic room is not listed)
    refusal_quiet_until: float = 0.0  # rate-limit refusals before this time go unanswered
    recovery: RecoveryState | None = None  # its recoverable state (connection-state recovery on)

    @property
    def csrf_proven(self) -> bool:
        return self.csrf_token is None

    def session_live(self, now: float) -> bool:
        return not self.revoked and now < self.expires_at


class ConnectionRegistry:
    """Connections by socket id, by session and by physical connection, with counts for admins.

    Built for memory per idle connection: indexes hold tuples (a connection's session and physical
    connection are rarely shared), and connections of one user share one User object.
    """

    def __init__(self) -> None:
        self._by_sid: dict[str, Connection] = {}
        self._by_session: dict[str, tuple[str, ...]] = {}
        self._by_physical: dict[str, tuple[str, ...]] = {}
        self._users: dict[int, tuple[User, int]] = {}
        self.total_connections = 0

    def add(self, conn: Connection) -> None:
        known = self._users.get(conn.user.id)
        if known is not None and known[0] == conn.user:
            conn.user = known[0]
        self._users[conn.user.id] = (conn.user, (known[1] if known else 0) + 1)
        self._by_sid[conn.sid] = conn
        self._by_session[conn.session_id] = (*self._by_session.get(conn.session_id, ()), conn.sid)
        self._by_physical[conn.physical_id] = (*self._by_physical.get(conn.physical_id, ()), conn.sid)
        self.total_connections += 1

    def remove(self, sid: str) -> tuple[Connection | None, bool]:
        """The removed connection and whether it was the last on its physical connection."""
        conn = self._by_sid.pop(sid, None)
        if conn is None:
            return None, False
        user, count = self._users[conn.user.id]
        if count > 1:
            self._users[conn.user.id] = (user, count - 1)
        else:
            del self._users[conn.user.id]
        _discard(self._by_session, conn.session_id, sid)
        last = _discard(self._by_physical, conn.physical_id, sid)
        return conn, last

    def rename(self, sid: str, new_sid: str) -> Connection | None:
        """Gives a connection another socket id (a recovered connection takes back its old one)."""
        conn = self._by_sid.pop(sid, None)
        if conn is None:
            return None
        conn.sid = new_sid
        self._by_sid[new_sid] = conn
        for index, key in ((self._by_session, conn.session_id), (self._by_physical, conn.physical_id)):
            index[key] = tuple(new_sid if member == sid else member for member in index.get(key, ()))
        return conn

    def get(self, sid: str) -> Connection | None:
        return self._by_sid.get(sid)

    def physical_user(self, physical_id: str) -> int | None:
        """The user whose connections are on this physical connection (one identity per connection), if any."""
        for sid in self._by_physical.get(physical_id, ()):
            conn = self._by_sid.get(sid)
            if conn is not None:
                return conn.user.id
        return None

    def for_sessions(self, session_ids: set[str]) -> Iterator[Connection]:
        for session_id in session_ids:
            for sid in self._by_session.get(session_id, ()):
                conn = self._by_sid.get(sid)
                if conn is not None:
                    yield conn

    def session_ids(self) -> set[str]:
        return set(self._by_session)

    def __len__(self) -> int:
        return len(self._by_sid)

    def __iter__(self) -> Iterator[Connection]:
        return iter(tuple(self._by_sid.values()))

    def user_ids(self) -> set[int]:
        return set(self._users)

    def physical_by_user(self) -> dict[int, set[str]]:
        held: dict[int, set[str]] = {}
        for conn in self._by_sid.values():
            held.setdefault(conn.user.id, set()).add(conn.physical_id)
        return held


def _discard(index: dict[str, tuple[str, ...]], key: str, sid: str) -> bool:
    """Removes `sid` under `key`; True when that emptied the key."""
    members = index.get(key)
    if members is None:
        return False
    remaining = tuple(m for m in members if m != sid)
    if remaining:
        index[key] = remaining
        return False
    del index[key]
    return True
