"""SESSION_SOURCE=flask: the host's own Flask login cookie, verified in place, users read from its table."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import bootstrap
from tests.integration.flask_host import HostApp, UserRole
from tests.integration.harness import Server, serve, settings_for
from tests.integration.processes import SCRIPT, child_env, cli
from tests.integration.rawio import RawSocket
from tests.integration.test_caption_engine import api

SECRET = "host-secret-key"


@dataclass
class Cookie:
    """What the harness sends: `id` goes in the Cookie header, `csrf_token` in the connect auth."""

    id: str
    csrf_token: str | None = None


@dataclass
class Host:
    app: HostApp
    server: Server


@pytest.fixture
async def host(sqlite_host_db: tuple[str, str], tmp_path: Path) -> AsyncIterator[Host]:
    app = HostApp(sqlite_host_db[0], SECRET)
    settings = flask_settings(tmp_path, sqlite_host_db[1])
    async with serve(settings) as server:
        yield Host(app, server)
    app.engine.dispose()


def flask_settings(tmp_path: Path, host_url: str, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "session_source": "flask",
        "flask_secret_key": SECRET,
        "host_database_url": host_url,
    }
    values.update(overrides)
    return settings_for(f"sqlite+aiosqlite:///{tmp_path / 'ours.db'}", **values)


def test_roles_are_stored_as_enum_member_names(host_db: tuple[str, str]) -> None:
    app = HostApp(host_db[0], SECRET)
    try:
        app.add_user("ann", UserRole.MODERATOR)
        with app.engine.connect() as conn:
            stored = conn.exec_driver_sql("SELECT role FROM users").scalar_one()
        assert stored == "MODERATOR"
        if app.engine.dialect.name == "postgresql":
            with app.engine.connect() as conn:
                kind = conn.exec_driver_sql(
                    "SELECT udt_name FROM information_schema.columns WHERE table_name='users' AND column_name='role'"
                ).scalar_one()
            assert kind == "userrole"
    finally:
        app.engine.dispose()


async def test_a_logged_in_host_user_connects_with_the_flask_cookie_alone(host: Host) -> None:
    user_id = host.app.add_user("alice", UserRole.REVIEWER)
    cookie = host.app.login_cookie("alice")
    token = host.app.signed_csrf_token(cookie)
    client = await host.server.client(Cookie(cookie, token), via_cookie=True)
    try:
        reply = await client.call("join_room", {"room_name": f"user_{user_id}_captions"})
        assert reply["success"] is True
        foreign = await client.call("join_room", {"room_name": f"user_{user_id + 1}_captions"})
        assert foreign["error_code"] == "AUTH_INSUFFICIENT_PRIVILEGES"
    finally:
        await client.close()


async def test_the_flask_wtf_token_proves_events_when_auth_had_none(host: Host) -> None:
    user_id = host.app.add_user("bob", UserRole.VIEWER)
    cookie = host.app.login_cookie("bob")
    client = await host.server.client(Cookie(cookie), via_cookie=True, csrf=False)
    try:
        refused = await client.call("join_room", {"room_name": f"user_{user_id}"})
        assert refused["error_code"] == "CSRF_TOKEN_INVALID"
        wrong = await client.call("join_room", {"room_name": f"user_{user_id}", "csrf_token": "x" * 40})
        assert wrong["error_code"] == "CSRF_TOKEN_INVALID"
        token = host.app.signed_csrf_token(cookie)
        ok = await client.call("join_room", {"room_name": f"user_{user_id}", "csrf_token": token})
        assert ok["success"] is True
    finally:
        await client.close()


async def test_a_wrong_flask_wtf_token_in_auth_is_refused(host: Host) -> None:
    host.app.add_user("carl", UserRole.VIEWER)
    cookie = host.app.login_cookie("carl")
    other = HostApp("sqlite://", "another-key")
    forged_token = other.signed_csrf_token(cookie)  # signed with a key the host does not have
    refused = await host.server.client(Cookie(cookie, forged_token), via_cookie=True, expect_refusal=True)
    assert refused.connect_error["data"]["error_code"] == "CSRF_TOKEN_INVALID"


async def test_forged_and_logged_out_cookies_are_refused(host: Host) -> None:
    host.app.add_user("dora", UserRole.ADMIN)
    forger = HostApp("sqlite://", "not-the-host-key")
    forger.add_user("dora", UserRole.ADMIN)
    forged = forger.login_cookie("dora")
    refused = await host.server.client(Cookie(forged), via_cookie=True, csrf=False, expect_refusal=True)
    assert refused.connect_error["data"]["error_code"] == "AUTH_INVALID_SESSION"

    client = host.app.app.test_client()
    client.set_cookie("session", host.app.login_cookie("dora"))
    page = client.get("/csrf-token").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": page})
    logged_out = client.get_cookie("session")
    assert logged_out is not None
    anonymous = await host.server.client(Cookie(logged_out.value), via_cookie=True, csrf=False, expect_refusal=True)
    assert anonymous.connect_error["data"]["error_code"] == "AUTH_REQUIRED"


async def test_an_inactive_host_user_cannot_connect(host: Host) -> None:
    user_id = host.app.add_user("eve", UserRole.VIEWER)
    cookie = host.app.login_cookie("eve")
    host.app.set_active(user_id, False)
    refused = await host.server.client(Cookie(cookie), via_cookie=True, csrf=False, expect_refusal=True)
    assert refused.connect_error["data"]["error_code"] == "AUTH_INVALID_SESSION"


async def test_deactivation_ends_the_connection_within_the_session_check(host: Host) -> None:
    user_id = host.app.add_user("fay", UserRole.REVIEWER)
    cookie = host.app.login_cookie("fay")
    client = await host.server.client(Cookie(cookie, host.app.signed_csrf_token(cookie)), via_cookie=True)
    try:
        host.app.set_active(user_id, False)
        error = await client.inbox.next("auth_error", timeout=5)
        assert error["error_code"] == "AUTH_INVALID_SESSION"
        await _until(lambda: not client.sio.connected)
    finally:
        await client.close()


async def test_a_demoted_admin_loses_admin_but_keeps_the_user_namespace(host: Host) -> None:
    user_id = host.app.add_user("gus", UserRole.ADMIN)
    cookie = host.app.login_cookie("gus")
    token = host.app.signed_csrf_token(cookie)
    admin = await host.server.client(Cookie(cookie, token), "/admin", via_cookie=True)
    user = await host.server.client(Cookie(cookie, token), via_cookie=True)
    try:
        assert (await user.call("join_room", {"room_name": "user_999999"}))["success"] is True  # admins may
        host.app.set_role(user_id, UserRole.VIEWER)
        error = await admin.inbox.next("auth_error", timeout=5)
        assert error["error_code"] == "AUTH_INSUFFICIENT_PRIVILEGES"
        await _until(lambda: not admin.sio.connected)
        again = await user.call("join_room", {"room_name": "user_999998"})
        assert again["error_code"] == "AUTH_INSUFFICIENT_PRIVILEGES"  # the new role applies on `/` too
        assert user.sio.connected
    finally:
        await admin.close()
        await user.close()


async def test_secret_key_fallbacks_accept_cookies_of_the_previous_key(
    sqlite_host_db: tuple[str, str], tmp_path: Path
) -> None:
    host_db = sqlite_host_db
    old = HostApp(host_db[0], "old-key")
    old.add_user("hal", UserRole.VIEWER)
    cookie = old.login_cookie("hal")
    rotated = flask_settings(tmp_path, host_db[1], flask_secret_key="new-key", flask_secret_key_fallbacks="old-key")
    async with serve(rotated) as server:
        client = await server.client(Cookie(cookie), via_cookie=True, csrf=False)
        await client.close()
    unrotated = flask_settings(tmp_path, host_db[1], flask_secret_key="new-key")
    async with serve(unrotated) as server:
        refused = await server.client(Cookie(cookie), via_cookie=True, csrf=False, expect_refusal=True)
        assert refused.connect_error["data"]["error_code"] == "AUTH_INVALID_SESSION"
    old.engine.dispose()


async def test_a_cookie_past_the_session_lifetime_is_refused(sqlite_host_db: tuple[str, str], tmp_path: Path) -> None:
    host_db = sqlite_host_db
    app = HostApp(host_db[0], SECRET)
    app.add_user("ivy", UserRole.VIEWER)
    async with serve(flask_settings(tmp_path, host_db[1], flask_session_lifetime=3.0)) as server:
        cookie = app.login_cookie("ivy")
        client = await server.client(Cookie(cookie), via_cookie=True, csrf=False)  # young enough
        error = await client.inbox.next("auth_error", timeout=5)  # then it expires while connected
        assert error["error_code"] == "AUTH_INVALID_SESSION"
        await client.close()
        refused = await server.client(Cookie(cookie), via_cookie=True, csrf=False, expect_refusal=True)
        assert refused.connect_error["data"]["error_code"] == "AUTH_INVALID_SESSION"
    app.engine.dispose()


async def _until(condition: Any, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def test_a_wildcard_origin_is_refused_with_host_cookies(tmp_path: Path) -> None:
    # Refused when the settings are built (before any container or app exists).
    with pytest.raises(ValueError, match="CORS_CREDENTIALS_ERROR"):
        flask_settings(tmp_path, "sqlite+aiosqlite:///unused.db", socketio_cors_origins="*", cors_allow_wildcard=True)


async def test_host_users_get_platforms_and_jobs_by_their_host_ids(host_db: tuple[str, str], tmp_path: Path) -> None:
    """Nothing to create on our side: a host user's id is theirs here too (our demo seed holds ids 1 and 2)."""
    app = HostApp(host_db[0], SECRET)
    for name in ("ann", "ben"):
        app.add_user(name, UserRole.VIEWER)
    cat = app.add_user("cat", UserRole.REVIEWER)
    settings = flask_settings(tmp_path, host_db[1], platform_token_key=bootstrap.new_token_key(), demo_failure_every=0)
    try:
        async with serve(settings) as server:
            cookie = app.login_cookie("cat")
            client = await server.client(Cookie(cookie, app.signed_csrf_token(cookie)), via_cookie=True)
            try:
                body = {"user_id": cat, "name": "Cat's Pixelfed", "platform_type": "pixelfed"}
                body |= {"instance_url": "https://pixelfed.example.com", "access_token": "t0ken"}
                status, platform = await api(server.url, "POST", "/api/v1/platforms", body)
                assert status == 201, platform
                job = {"user_id": cat, "platform_id": platform["platform_id"]}
                status, started = await api(server.url, "POST", "/api/v1/caption-jobs", job)
                assert status == 202, started
                done = await client.inbox.until(
                    "caption_generation_completed", lambda c: c["job_id"] == started["job_id"]
                )
                assert done["user_id"] == cat and done["successful_captions"] == 6
                status, told = await api(
                    server.url, "POST", "/api/v1/notifications", {"user_id": cat, "title": "t", "message": "m"}
                )
                assert status == 202, told
                assert (await client.inbox.next("user_notification"))["title"] == "t"
                status, nobody = await api(
                    server.url, "POST", "/api/v1/notifications", {"user_id": 99, "title": "t", "message": "m"}
                )
                assert status == 404 and nobody["data"]["error_code"] == "NOT_FOUND"
            finally:
                await client.close()
        # The CLI names users as the host does; our own rows (the demo seed's "demo") are no one's name.
        env = {
            "DATABASE_URL": settings.database_url,
            "SESSION_SOURCE": "flask",
            "FLASK_SECRET_KEY": SECRET,
            "HOST_DATABASE_URL": host_db[1],
        }
        added = await asyncio.to_thread(
            cli, env, "platforms", "add", "cat", "--name", "Cat 2", "--url", "https://pixelfed.example.com"
        )
        assert added["user_id"] == cat
        refused = await asyncio.to_thread(
            subprocess.run,
            [str(SCRIPT), "platforms", "add", "demo", "--name", "x", "--url", "https://pixelfed.example.com"],
            env=child_env(env),
            capture_output=True,
            text=True,
            timeout=60,
        )
        error = json.loads(refused.stderr.strip().splitlines()[-1])  # the CLI's JSON error (README)
        assert refused.returncode == 1 and error["error_code"] == "NOT_FOUND", refused.stderr
        assert error["username"] == "demo"
    finally:
        app.engine.dispose()


async def test_the_session_cookie_is_found_beside_cookies_the_stdlib_parser_gives_up_on(host: Host) -> None:
    """Cookies are per host, not per port: the browser sends every cookie of the Vedfolnir host along.

    A raw socket: python-socketio's client itself drops cookies after one SimpleCookie cannot parse.
    """
    user_id = host.app.add_user("hal", UserRole.VIEWER)
    cookie = host.app.login_cookie("hal")
    header = f'theme={{"dark":true}}; consent=yes please; session={cookie}'
    raw = await RawSocket.open(host.server.url, {"Cookie": header})
    try:
        assert (await raw.connect({}))[:3] == "40{"
        ask = {"csrf_token": host.app.signed_csrf_token(cookie)}
        await raw.send("420" + json.dumps(["request_caption_status", ask]))
        answer = json.loads((await raw.expect(lambda m: m.startswith("430")))[3:])[0]
        assert answer["user_id"] == user_id
    finally:
        await raw.close()


async def test_a_large_flask_session_cookie_works_in_auth_as_the_cli_sends_it(host: Host) -> None:
    """`monitor` / `test connection --session-id` send the cookie in auth.session_id: whole, however big."""
    user_id = host.app.add_user("ida", UserRole.VIEWER)
    browser = host.app.app.test_client()
    browser.set_cookie("session", host.app.login_cookie("ida"))
    with browser.session_transaction() as stored:  # what the host app keeps in its session besides the login
        stored["draft"] = os.urandom(1800).hex()
    cookie = browser.get_cookie("session")
    assert cookie is not None and 2000 < len(cookie.value) < 4096  # a browser keeps up to 4096 bytes
    client = await host.server.client(Cookie(cookie.value, host.app.signed_csrf_token(cookie.value)))
    try:
        status = await client.call("request_caption_status", {})
        assert status["user_id"] == user_id
    finally:
        await client.close()
