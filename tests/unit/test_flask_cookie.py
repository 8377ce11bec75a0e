"""Flask's own signer and Flask-WTF make the cookies and tokens; our adapter reads them without Flask."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import generate_csrf
from sqlalchemy.ext.asyncio import create_async_engine

from adapters.outbound.flask_sessions import ANONYMOUS, FlaskCookieSessionSource, role_of
from domain.identity import Role

ENGINE = create_async_engine("sqlite+aiosqlite://")  # never connected: these tests do not read users


def flask_cookie(secret: str, data: dict[str, Any], fallbacks: list[str] | None = None) -> str:
    app = Flask("host")
    app.config.update(SECRET_KEY=secret, SECRET_KEY_FALLBACKS=fallbacks or [])
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    assert serializer is not None
    return str(serializer.dumps(data))


def source(secret: str = "k", **kwargs: Any) -> FlaskCookieSessionSource:
    return FlaskCookieSessionSource(ENGINE, secret, **kwargs)


def test_a_flask_login_cookie_names_its_user_and_csrf_secret() -> None:
    cookie = flask_cookie("k", {"_user_id": "42", "_fresh": True, "csrf_token": "raw-secret"})
    session = source().session_of(cookie)
    assert session is not None and session.user_id == 42 and session.csrf_token == "raw-secret"
    assert session.expires_at == pytest.approx(time.time() + 31 * 86400, abs=5)


def test_compressed_and_tagged_payloads_are_read() -> None:
    big = {"_user_id": "7", "notes": ("x" * 400,), "blob": b"\x00\x01", "when": timedelta(seconds=1).total_seconds()}
    cookie = flask_cookie("k", big)
    assert cookie.startswith(".")  # zlib-compressed: Flask chose it because it is shorter
    session = source().session_of(cookie)
    assert session is not None and session.user_id == 7


def test_forged_tampered_and_anonymous_cookies() -> None:
    assert source().session_of(flask_cookie("other", {"_user_id": "1"})) is None
    cookie = flask_cookie("k", {"_user_id": "1"})
    assert source().session_of(cookie[:-2] + "xx") is None
    assert source().session_of("not a cookie") is None
    anonymous = source().session_of(flask_cookie("k", {"csrf_token": "t"}))
    assert anonymous is not None and anonymous.user_id == ANONYMOUS


def test_secret_key_fallbacks_rotate_keys() -> None:
    old = flask_cookie("old", {"_user_id": "3"})
    assert source("new").session_of(old) is None
    rotated = source("new", fallbacks=["old"])
    session = rotated.session_of(old)
    assert session is not None and session.user_id == 3


def test_the_lifetime_bounds_a_cookie() -> None:
    cookie = flask_cookie("k", {"_user_id": "3"})
    session = source(lifetime_seconds=10).session_of(cookie)
    assert session is not None
    assert session.is_live(time.time()) and not session.is_live(time.time() + 12)


def test_flask_wtf_tokens_prove_the_session_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    app = Flask("host")
    app.config.update(SECRET_KEY="k")
    with app.test_request_context():
        from flask import session

        token = generate_csrf()
        raw = session["csrf_token"]
    ours = source()
    assert ours.csrf_matches(token, raw)
    assert not ours.csrf_matches(token, "another-secret")
    assert not ours.csrf_matches(raw, raw)  # the raw secret is not a token
    assert not ours.csrf_matches(token, "")
    assert not source("other").csrf_matches(token, raw)
    assert source("other", csrf_secret_key="k").csrf_matches(token, raw)  # WTF_CSRF_SECRET_KEY
    import itsdangerous.timed

    later = time.time() + 10
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: later)
    assert not source(csrf_time_limit=1).csrf_matches(token, raw)  # older than WTF_CSRF_TIME_LIMIT
    assert source(csrf_time_limit=3600).csrf_matches(token, raw)


@pytest.mark.parametrize(
    ("stored", "role"),
    [
        ("ADMIN", Role.ADMIN),
        ("MODERATOR", Role.MODERATOR),
        ("UserRole.VIEWER", Role.VIEWER),
        ("reviewer", Role.REVIEWER),
    ],
)
def test_roles_as_vedfolnir_stores_them(stored: str, role: Role) -> None:
    assert role_of(stored) is role


def test_an_unknown_role_is_refused() -> None:
    with pytest.raises(ValueError):
        role_of("SUPERUSER")


def test_a_missing_secret_key_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="FLASK_SECRET_KEY"):
        FlaskCookieSessionSource(ENGINE, "")
