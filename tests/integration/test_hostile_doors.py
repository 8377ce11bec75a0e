"""Finding 8 against real server processes: JSONP off, demo sign-in only from an allowed Origin, Secure cookies
behind a trusted TLS proxy, one URL rule for action_url (escaped like every string), nosniff on every answer."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from tests.integration.hostile import API_TOKEN, ServerProcess, server_process

POLLING = "/socket.io/?EIO=4&transport=polling"


async def _sign_in(server: ServerProcess, headers: dict[str, str]) -> aiohttp.ClientResponse:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{server.url}/demo/login", data={"username": "admin"}, headers=headers, allow_redirects=False) as a,
    ):
        await a.read()
        return a


async def test_jsonp_demo_sign_in_origins_nosniff_and_action_urls(tmp_path: Path) -> None:
    async with server_process(tmp_path) as server, aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}{POLLING}&j=0") as jsonp:
            assert jsonp.status == 400 and (await jsonp.json())["data"]["error_code"] == "TRANSPORT_ERROR"
        for query in ("/socket.io/?EIO=3&transport=polling", f"{POLLING}&sid=%3Cscript%3E", "/healthz", "/nowhere"):
            async with http.get(server.url + query) as answer:
                assert answer.headers.get("X-Content-Type-Options") == "nosniff", query

        host = server.url.removeprefix("http://")
        for headers in ({}, {"Origin": "http://rebound.example:1", "Host": "rebound.example:1"}, {"Origin": "null"}):
            refused = await _sign_in(server, headers)
            assert refused.status == 403 and "Set-Cookie" not in refused.headers, headers
        signed_in = await _sign_in(server, {"Origin": server.url})
        assert signed_in.status == 303 and "Secure" not in signed_in.headers["Set-Cookie"], host
        # Without TRUSTED_PROXIES, a client's own X-Forwarded-Proto is not believed.
        spoofed = await _sign_in(server, {"Origin": server.url, "X-Forwarded-Proto": "https"})
        assert "Secure" not in spoofed.headers["Set-Cookie"]

        session = await server.session("demo")
        client = await server.client(session)
        try:
            bearer = {"Authorization": f"Bearer {API_TOKEN}"}
            note = {"user_id": session.user_id, "title": "t", "message": "m"}
            for bad in ("/\\evil.example/x", "/\t/evil.example", "javascript:alert(1)", "//evil.example"):
                async with http.post(
                    f"{server.url}/api/v1/notifications", json={**note, "action_url": bad}, headers=bearer
                ) as answer:
                    body = await answer.json()
                assert answer.status == 400 and body["data"]["error_details"]["field"] == "action_url", bad
            async with http.post(
                f"{server.url}/api/v1/notifications", json={**note, "action_url": "/r?a=1&b=<2>"}, headers=bearer
            ) as answer:
                assert answer.status == 202
            delivered = await client.inbox.next("user_notification")
        finally:
            await client.close()
    assert delivered["action_url"] == "/r?a=1&amp;b=&lt;2&gt;"


async def test_cookies_are_secure_behind_a_trusted_tls_proxy(tmp_path: Path) -> None:
    async with server_process(tmp_path, trusted_proxies="127.0.0.1/32") as server:
        behind_tls = await _sign_in(server, {"Origin": server.url, "X-Forwarded-Proto": "https"})
        plain = await _sign_in(server, {"Origin": server.url, "X-Forwarded-Proto": "http"})
    assert behind_tls.status == 303 and "Secure" in behind_tls.headers["Set-Cookie"]
    assert "Secure" not in plain.headers["Set-Cookie"]


async def test_aiohttps_own_400s_for_unparsable_requests_say_nosniff(tmp_path: Path) -> None:
    """Its text quotes the request (a bad method, an over-long header): served as text/plain, it must not be sniffed."""
    async with server_process(tmp_path) as server:
        host, port = server.url.removeprefix("http://").split(":")
        for request in (
            b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: <script>" + b"a" * 9000 + b"\r\n\r\n",
            b"<script>\x01 / HTTP/1.1\r\n\r\n",
        ):
            reader, writer = await asyncio.open_connection(host, int(port))
            try:
                writer.write(request)
                await writer.drain()
                answer = await asyncio.wait_for(reader.read(65536), 5)
            finally:
                writer.close()
            head = answer.split(b"\r\n\r\n", 1)[0].lower()
            assert head.startswith(b"http/1.0 400") or head.startswith(b"http/1.1 400"), answer[:200]
            assert b"x-content-type-options: nosniff" in head, answer[:400]
