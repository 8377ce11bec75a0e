"""The stock socket.io JavaScript client (as pages use it) against the real server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from tests.integration.harness import Server

ROOT = Path(__file__).resolve().parents[2]
PROBE = Path(__file__).with_name("node") / "probe.mjs"


async def test_the_javascript_client_sees_the_documented_payloads(sqlite_server: Server) -> None:
    assert (ROOT / "node_modules" / "socket.io-client").is_dir(), "run `make test` (npm ci) first"
    session = await sqlite_server.session("demo")
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(PROBE),
        sqlite_server.url,
        session.id,
        session.csrf_token,
        str(session.user_id),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    steps = {line["step"]: line["data"] for line in map(json.loads, out.decode().splitlines())}

    anonymous = steps["anonymous"]
    assert anonymous["message"] == "Authentication required for WebSocket connection"
    assert anonymous["data"]["error_code"] == "AUTH_REQUIRED" and anonymous["data"]["redirect_url"] == "/login"
    assert anonymous["data"]["retry_possible"] is False and anonymous["data"]["error_message"]
    assert anonymous["disconnect"] == "io server disconnect"
    assert anonymous["seen"] == ["connect", "auth_required"]  # connect first, then only the refusal
    assert steps["admin_denied"]["data"]["error_code"] == "AUTH_INSUFFICIENT_PRIVILEGES"
    assert steps["joined"]["success"] is True and steps["joined"]["correlation_id"] == "js-1"
    assert steps["status_event"]["user_id"] == session.user_id
    assert steps["error_event"]["error_code"] == "AUTH_INSUFFICIENT_PRIVILEGES"
    assert steps["transport"] == "websocket"  # upgraded from polling
