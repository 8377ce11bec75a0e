"""The served pages' HTTP side: files, the vendor bundle, demo sign-in, /session, CSRF-checked calls, sign-out."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from adapters.inbound.pages import STATIC_DIR, register_pages
from tests.integration.harness import Server, serve, settings_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    async with serve(settings_for(f"sqlite+aiosqlite:///{tmp_path / 'server.db'}")) as running:
        yield running


# The default allowed origins are http(s)://FLASK_HOST:FLASK_PORT (127.0.0.1:5000 in tests).
ALLOWED_ORIGIN = {"Origin": "http://127.0.0.1:5000"}


async def signed_in(http: aiohttp.ClientSession, url: str, username: str) -> dict[str, Any]:
    async with http.post(
        f"{url}/demo/login", data={"username": username}, headers=ALLOWED_ORIGIN, allow_redirects=False
    ) as answer:
        assert answer.status == 303
        assert answer.headers["Location"] == ("/admin/" if username == "admin" else "/")
        cookie = answer.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    async with http.get(f"{url}/session") as answer:
        assert answer.status == 200
        body: dict[str, Any] = await answer.json()
        return body


async def test_pages_scripts_and_the_vendor_bundle_are_served(server: Server) -> None:
    async with aiohttp.ClientSession() as http:
        for path, kind in [("/", "text/html"), ("/admin/", "text/html"), ("/login", "text/html")]:
            async with http.get(server.url + path) as answer:
                assert answer.status == 200 and answer.content_type == kind
                assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
        for path in ("/static/client.js", "/static/user.js", "/static/admin.js", "/vendor/socket.io.esm.min.js"):
            async with http.get(server.url + path) as answer:
                assert answer.status == 200 and "javascript" in answer.content_type, path
        async with http.get(server.url + "/static/../pages.py") as answer:
            assert answer.status == 404


async def test_a_missing_vendor_bundle_says_to_run_make_install(tmp_path: Path) -> None:
    app = web.Application()
    register_pages(
        app, demo_mode=False, cookie_name="session", login_url="/login", session_ttl=60,
        issue_session=_unused, revoke_session=_unused, whoami=_unused, start_job=_unused, notify_user=_unused,
        clock=_unused, tokens=_unused, node_modules=tmp_path,
    )  # fmt: skip
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        async with aiohttp.ClientSession() as http, http.get(url + "/vendor/socket.io.esm.min.js") as answer:
            assert answer.status == 503 and "make install" in await answer.text()
        async with aiohttp.ClientSession() as http, http.post(url + "/demo/login", data={"username": "demo"}) as a:
            assert a.status in (404, 405)  # no demo sign-in outside demo mode
    finally:
        await runner.cleanup()


async def _unused(*_args: Any) -> Any:
    raise AssertionError("not called")


async def test_session_needs_a_cookie_and_answers_like_a_refused_socket(server: Server) -> None:
    async with aiohttp.ClientSession() as http, http.get(server.url + "/session") as answer:
        body = await answer.json()
    assert answer.status == 401
    assert body["event"] == "auth_required" and body["data"]["error_code"] == "AUTH_REQUIRED"
    assert body["data"]["redirect_url"] == "/login"
    jar = aiohttp.CookieJar(unsafe=True)
    jar.update_cookies({"session": "forged"})
    async with aiohttp.ClientSession(cookie_jar=jar) as http, http.get(server.url + "/session") as answer:
        body = await answer.json()
    assert answer.status == 401 and body["event"] == "auth_error"
    assert body["data"]["error_code"] == "AUTH_INVALID_SESSION"


async def test_demo_sign_in_then_csrf_checked_calls(server: Server) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        me = await signed_in(http, server.url, "demo")
        assert me["username"] == "demo" and me["role"] == "reviewer" and len(me["csrf_token"]) >= 20
        assert "session_id" not in me  # the id stays in the HttpOnly cookie

        async with http.post(server.url + "/session/caption-jobs") as answer:
            assert answer.status == 403
            assert (await answer.json())["data"]["error_code"] == "CSRF_TOKEN_INVALID"
        headers = {"X-CSRF-Token": me["csrf_token"]}
        async with http.post(server.url + "/session/caption-jobs", headers=headers) as answer:
            assert answer.status == 202
            job = await answer.json()
            assert job["user_id"] == me["user_id"] and job["status"] == "queued"
        async with http.post(server.url + "/session/caption-jobs", headers=headers) as answer:
            assert answer.status == 409
            assert (await answer.json())["data"]["error_code"] == "JOB_ALREADY_ACTIVE"

        note = {"user_id": me["user_id"], "title": "t", "message": "m"}
        async with http.post(server.url + "/session/admin/notifications", json=note, headers=headers) as answer:
            assert answer.status == 403
            assert (await answer.json())["data"]["error_code"] == "AUTH_INSUFFICIENT_PRIVILEGES"

        async with http.post(server.url + "/logout") as answer:
            assert answer.status == 403  # a live session is revoked only with its CSRF token
        async with http.post(server.url + "/logout", headers=headers) as answer:
            assert answer.status == 200 and (await answer.json())["revoked"] is True
        async with http.get(server.url + "/session") as answer:
            assert answer.status == 401


async def test_an_admin_notifies_a_user_through_the_page_endpoint(server: Server) -> None:
    user_session = await server.session("demo")
    client = await server.client(user_session)
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            me = await signed_in(http, server.url, "admin")
            note = {
                "user_id": user_session.user_id,
                "title": "Tom & Jerry",
                "message": "hello",
                "dismiss_timeout": 3000,
            }
            headers = {"X-CSRF-Token": me["csrf_token"]}
            async with http.post(server.url + "/session/admin/notifications", json=note, headers=headers) as answer:
                assert answer.status == 202
                sent = await answer.json()
        received = await client.inbox.next("user_notification")
        assert received["notification_id"] == sent["notification_id"] and received["title"] == "Tom &amp; Jerry"
    finally:
        await client.close()


async def test_sign_in_refuses_other_users_and_foreign_origins(server: Server) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(
            server.url + "/demo/login", json={"username": "root"}, headers=ALLOWED_ORIGIN, allow_redirects=False
        ) as answer:
            assert answer.status == 400
        host = server.url.removeprefix("http://")
        for refused in ({}, {"Origin": server.url}, {"Origin": "http://rebound.example", "Host": "rebound.example"}):
            async with http.post(  # no Origin, or Origin = Host (DNS rebinding): not an allowed origin
                server.url + "/demo/login", data={"username": "admin"}, headers=refused, allow_redirects=False
            ) as answer:
                assert answer.status == 403 and "Set-Cookie" not in answer.headers, (refused, host)
        evil = {"Origin": "http://evil.example"}
        async with http.post(
            server.url + "/demo/login", data={"username": "admin"}, headers=evil, allow_redirects=False
        ) as answer:
            assert answer.status == 403 and "Set-Cookie" not in answer.headers


def test_the_wheel_holds_every_static_file(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=240,
    )
    wheel = next(tmp_path.glob("vedfolnir_realtime-*.whl"))
    names = {p.relative_to(STATIC_DIR).as_posix() for p in STATIC_DIR.rglob("*") if p.is_file()}
    assert {"client.js", "index.html", "user.js", "admin.js", "admin/index.html", "login.html", "style.css"} <= names
    prefix = "adapters/inbound/static/"
    packaged = {n[len(prefix) :] for n in zipfile.ZipFile(wheel).namelist() if n.startswith(prefix)}
    assert names <= packaged
