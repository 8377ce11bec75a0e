"""The SessionSource of the host's own login: Flask's signed `session` cookie, verified in place.

The cookie is what Flask's default SecureCookieSessionInterface writes: itsdangerous
URLSafeTimedSerializer(SECRET_KEY_FALLBACKS + [SECRET_KEY], salt "cookie-session", HMAC key derivation
with SHA-1), Flask's tagged JSON, zlib-compressed when that is shorter (a leading "."). Flask-Login
keeps the user id as the string `_user_id`, Flask-WTF the raw CSRF secret as `csrf_token`. The user
and role come from the host's `users` table (id, username, email, role, is_active), whose SQLAlchemy
Enum(UserRole) column holds the member NAMES (ADMIN, ...), a native `userrole` enum on Postgres.

A signed cookie is not stored anywhere, so logging out of the host cannot revoke a copy of it: it stays
valid until PERMANENT_SESSION_LIFETIME after it was signed. What the host's table says (deactivation,
demotion) is read again at every session check.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Iterable
from typing import Any

from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import Boolean, Column, Integer, MetaData, String, Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.outbound.sql.errors import storage_errors
from application.ports import AnonymousSession, SessionCheck
from domain.identity import Role, Session, User

COOKIE_SALT = "cookie-session"
CSRF_SALT = "wtf-csrf-token"
_CACHE_MAX = 50_000  # decoded cookies kept for the periodic recheck; cleared whole when full
ANONYMOUS = -1  # the user id of a genuine cookie that names no user (never a row id)

_host = MetaData()
host_users = Table(
    "users",
    _host,
    Column("id", Integer, primary_key=True),
    Column("username", String),
    Column("role", String),
    Column("is_active", Boolean),
)


class FlaskTaggedJson:
    """Reads Flask's TaggedJSONSerializer output (flask.json.tag) without depending on Flask at run time."""

    @staticmethod
    def loads(value: str | bytes) -> Any:
        return _untag(json.loads(value))

    @staticmethod
    def dumps(value: Any) -> str:  # never used to sign here; present because a serializer needs it
        return json.dumps(value, separators=(",", ":"))


def _untag(value: Any) -> Any:
    if isinstance(value, list):
        return [_untag(v) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, inner),) = value.items()
        if key == " t":
            return tuple(_untag(v) for v in inner)
        if key == " di":
            return {k[:-2] if k.endswith("__") else k: _untag(v) for k, v in inner.items()}
        if key == " u":
            return uuid.UUID(inner)
        if key == " b":
            return base64.b64decode(inner)
        if key in (" m", " d"):
            return inner  # Markup and dates stay their text: no field we read has them
    return {k: _untag(v) for k, v in value.items()}


def role_of(stored: str) -> Role:
    """Vedfolnir's Enum(UserRole) column stores member names (ADMIN); lower-case values are accepted too."""
    text = str(stored)
    name = text.rsplit(".", 1)[-1]  # "UserRole.ADMIN" if someone stored str(member)
    if name.upper() in Role.__members__:
        return Role[name.upper()]
    return Role(text.lower())


@storage_errors  # the host's users table failing is DATABASE_ERROR, like ours
class FlaskCookieSessionSource:
    def __init__(
        self,
        engine: AsyncEngine,
        secret_key: str,
        fallbacks: Iterable[str] = (),
        lifetime_seconds: float = 31 * 86400,
        csrf_secret_key: str | None = None,
        csrf_time_limit: float | None = 3600,
    ) -> None:
        if not secret_key:
            raise ValueError("SESSION_SOURCE=flask needs FLASK_SECRET_KEY (the host app's SECRET_KEY)")
        self._engine = engine
        keys = [*[k for k in fallbacks if k], secret_key]  # itsdangerous: the newest key last
        self._cookies = URLSafeTimedSerializer(
            keys,  # type: ignore[arg-type]
            salt=COOKIE_SALT,
            serializer=FlaskTaggedJson,
            signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha1},
        )
        self._csrf = URLSafeTimedSerializer(csrf_secret_key or secret_key, salt=CSRF_SALT)
        self._csrf_limit = int(csrf_time_limit) if csrf_time_limit else None
        self._lifetime = float(lifetime_seconds)
        self._decoded: dict[str, Session | None] = {}

    def session_of(self, cookie: str) -> Session | None:
        """The cookie's session (id: the cookie itself) if its signature holds and it names a user."""
        if cookie in self._decoded:
            return self._decoded[cookie]
        session = self._decode(cookie)
        if len(self._decoded) >= _CACHE_MAX:
            self._decoded.clear()
        self._decoded[cookie] = session
        return session

    def _decode(self, cookie: str) -> Session | None:
        try:
            data, signed_at = self._cookies.loads(cookie, return_timestamp=True)
        except (BadData, ValueError, TypeError):
            return None
        if not isinstance(data, dict):
            return None
        csrf = data.get("csrf_token")
        at = signed_at.timestamp()
        try:
            user_id = int(str(data.get("_user_id", "")))
        except ValueError:
            user_id = ANONYMOUS
        return Session(
            id=cookie,
            user_id=user_id,
            csrf_token=csrf if isinstance(csrf, str) else "",
            created_at=at,
            last_seen_at=at,
            expires_at=at + self._lifetime,
        )

    async def resolve(self, credential: str) -> tuple[Session, User | None] | None:
        session = self.session_of(credential)
        if session is None:
            return None
        if session.user_id == ANONYMOUS:
            raise AnonymousSession()
        users = await self._users([session.user_id])
        return session, users.get(session.user_id)

    def csrf_matches(self, presented: str, secret: str) -> bool:
        """Flask-WTF's signed token (the page's <meta name="csrf-token">) against the cookie's raw secret."""
        if not secret:
            return False
        try:
            raw = self._csrf.loads(presented, max_age=self._csrf_limit)
        except (BadData, ValueError, TypeError):
            return False
        return isinstance(raw, str) and hmac.compare_digest(raw.encode(), secret.encode())

    async def recheck(self, session_ids: set[str], now: float) -> SessionCheck:
        dead: set[str] = set()
        live: dict[str, Session] = {}
        for cookie in session_ids:
            session = self.session_of(cookie)
            if session is None or session.user_id == ANONYMOUS or not session.is_live(now):
                dead.add(cookie)
            else:
                live[cookie] = session
        users = await self._users({s.user_id for s in live.values()}) if live else {}
        current: dict[str, User] = {}
        for cookie, session in live.items():
            user = users.get(session.user_id)
            if user is None or not user.active:
                dead.add(cookie)
            else:
                current[cookie] = user
        return SessionCheck(dead=dead, users=current)

    async def _users(self, ids: Iterable[int]) -> dict[int, User]:
        wanted = list(ids)
        found: dict[int, User] = {}
        async with self._engine.connect() as conn:
            for start in range(0, len(wanted), 10_000):
                chunk = wanted[start : start + 10_000]
                rows = await conn.execute(
                    select(host_users.c.id, host_users.c.username, host_users.c.role, host_users.c.is_active).where(
                        host_users.c.id.in_(chunk)
                    )
                )
                for row in rows:
                    try:
                        role = role_of(row.role)
                    except ValueError:
                        continue  # a role this service does not know grants nothing
                    found[row.id] = User(id=row.id, username=row.username, role=role, active=bool(row.is_active))
        return found
