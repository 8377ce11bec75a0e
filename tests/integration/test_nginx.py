"""The shipped deploy/nginx.conf in front of two nodes: the stock client over polling and WebSocket, real client IPs."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest
import socketio

from tests.integration.processes import issue_session, serving
from tests.integration.proxy import ROOT, client_from, close_from, fleet_database, nginx, nginx_missing

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.skipif(bool(nginx_missing()), reason=str(nginx_missing())),
]
THROUGH = Path(__file__).with_name("node") / "through_proxy.mjs"


async def stock_client(url: str, session: dict[str, str], mode: str) -> dict:
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(THROUGH),
        url,
        session["session_id"],
        session["csrf_token"],
        mode,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 40)
    assert proc.returncode == 0, out.decode() + err.decode()
    return json.loads(out.decode().strip().splitlines()[-1])


async def test_the_stock_client_through_nginx_over_each_transport_and_limits_see_the_real_address(
    tmp_path: Path,
) -> None:
    async with fleet_database(CONNECT_ATTEMPTS_PER_HOUR="3") as env:
        with (
            serving(env) as node_a,
            serving(env) as node_b,
            nginx(tmp_path / "nginx", [node_a.port, node_b.port]) as url,
        ):
            demo = await asyncio.to_thread(issue_session, env, "demo")
            admin = await asyncio.to_thread(issue_session, env, "admin")

            # The stock JavaScript client: long-polling only (sticky: every poll reaches the node that holds
            # the session), WebSocket only (the Upgrade headers pass), and polling upgraded to WebSocket.
            for mode, transport in (("polling", "polling"), ("websocket", "websocket"), ("upgrade", "websocket")):
                seen = await stock_client(url, demo, mode)
                assert seen["transport"] == transport, (mode, seen)
                assert seen["ack"]["user_id"] == demo["user_id"] and seen["ack"]["correlation_id"] == "via-proxy"
                assert seen["joined"]["success"] is True

            # Per-IP connect limits count the client's address, not nginx's: 127.0.0.2 spends its 3 attempts
            # (one of them claiming to be someone else), 127.0.0.3 still gets in.
            watcher = await client_from(
                url, "127.0.0.4", {"session_id": admin["session_id"], "csrf_token": admin["csrf_token"]}, "/admin"
            )
            auth = {"session_id": demo["session_id"], "csrf_token": demo["csrf_token"]}
            try:
                spoofed = {"X-Forwarded-For": "10.9.9.9"}
                for headers in ({}, spoofed, {}):
                    client = await client_from(url, "127.0.0.2", auth, headers=headers)
                    await close_from(client)
                # Refused on the fourth attempt over WebSocket (client_from's default) and over long-polling.
                for transports in (["websocket"], ["polling"]):
                    with pytest.raises(socketio.exceptions.ConnectionError, match="RATE_LIMIT_EXCEEDED"):
                        await client_from(url, "127.0.0.2", auth, transports=transports)
                other = await client_from(url, "127.0.0.3", auth, transports=["polling"])
                await close_from(other)
                await watcher.inbox.until(
                    "user_activity_update",
                    lambda a: a["activity_type"] == "connected" and a["details"]["ip"] == "127.0.0.3",
                )
                ips = [
                    a["details"]["ip"]
                    for a in watcher.inbox.of("user_activity_update")
                    if a["activity_type"] == "connected"
                ]
                assert ips.count("127.0.0.2") == 3 and "10.9.9.9" not in ips and "127.0.0.1" not in ips, ips
            finally:
                await close_from(watcher)

            # What nginx forwards: the request id reaches the access log's correlation id; /metrics is not public.
            async with aiohttp.ClientSession() as http:
                async with http.get(url + "/metrics") as answer:
                    assert answer.status == 404
                async with http.get(url + "/healthz") as answer:
                    assert answer.status == 200
                async with http.get(f"http://127.0.0.1:{node_a.port}/metrics") as answer:
                    assert answer.status == 200
