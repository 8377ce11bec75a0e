"""The console script's test tools (`test connection`, `test cors`, `monitor`) against an in-process server."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.harness import Server, serve, settings_for
from tests.integration.processes import SCRIPT, free_port

ALLOWED = "http://pages.example"


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'server.db'}", socketio_cors_origins=ALLOWED)
    async with serve(settings) as running:
        yield running


async def tool(*args: str, timeout: float = 30) -> tuple[int, list[Any], str]:
    """Runs the console script without blocking the in-process server; (exit code, JSON lines, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        str(SCRIPT), *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, [json.loads(line) for line in out.decode().splitlines() if line.strip()], err.decode()


async def test_connection_accepted_with_a_session(server: Server) -> None:
    session = await server.session("demo")
    for transport in ("websocket", "polling"):
        code, lines, err = await tool(
            "test", "connection", "--url", server.url, "--session-id", session.id,
            "--csrf-token", session.csrf_token, "--transport", transport,
        )  # fmt: skip
        assert code == 0, err
        assert lines[0]["connected"] is True and lines[0]["transport"] == transport


async def test_connection_refusals_print_the_payload(server: Server) -> None:
    session = await server.session("demo")
    code, lines, _ = await tool("test", "connection", "--url", server.url)
    assert code == 2
    assert lines[0]["refused"]["event"] == "auth_required" and lines[0]["refused"]["error_code"] == "AUTH_REQUIRED"

    code, lines, _ = await tool(
        "test", "connection", "--url", server.url, "--session-id", session.id, "--csrf-token", "x"
    )
    assert code == 2 and lines[0]["refused"]["error_code"] == "CSRF_TOKEN_INVALID"

    code, lines, _ = await tool(
        "test", "connection", "--url", server.url, "--session-id", session.id, "--namespace", "/admin"
    )
    assert code == 2 and lines[0]["refused"]["error_code"] == "AUTH_INSUFFICIENT_PRIVILEGES"


async def test_connection_to_nothing_is_unreachable() -> None:
    code, lines, _ = await tool("test", "connection", "--url", f"http://127.0.0.1:{free_port()}", "--timeout", "3")
    assert code == 3 and lines[0]["connected"] is False and lines[0]["unreachable"]


async def test_cors_accepts_the_configured_origin_and_refuses_others(server: Server) -> None:
    code, lines, err = await tool("test", "cors", "--url", server.url, "--origin", ALLOWED)
    assert code == 0, err
    assert lines[0]["accepted"] is True and lines[0]["access_control_allow_origin"] == ALLOWED
    assert "ACCEPTED" in err

    code, lines, err = await tool("test", "cors", "--url", server.url, "--origin", "http://evil.example")
    assert code == 2
    assert lines[0]["accepted"] is False and lines[0]["status"] == 403
    assert lines[0]["refusal"]["data"]["error_code"] == "CORS_ORIGIN_NOT_ALLOWED"
    assert "REFUSED" in err

    code, _, _ = await tool("test", "cors", "--url", f"http://127.0.0.1:{free_port()}", "--origin", ALLOWED)
    assert code == 3


@contextlib.asynccontextmanager
async def monitoring(*args: str) -> AsyncIterator[asyncio.subprocess.Process]:
    proc = await asyncio.create_subprocess_exec(
        str(SCRIPT), "monitor", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        assert proc.stderr is not None
        line = await asyncio.wait_for(proc.stderr.readline(), 15)
        assert b"monitor: connected" in line, line
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_monitor_prints_each_event_and_stops_after_the_given_seconds(server: Server) -> None:
    session = await server.session("demo")
    async with monitoring("--url", server.url, "--session-id", session.id, "--seconds", "2") as proc:
        status, sent = await server.api(
            "POST", "/api/v1/notifications", {"user_id": session.user_id, "title": "Hi", "message": "<b>"}
        )
        assert status == 202
        out, err = await asyncio.wait_for(proc.communicate(), 15)
    assert proc.returncode == 0, err
    events = [json.loads(line) for line in out.decode().splitlines()]
    notification = next(e for e in events if e["event"] == "user_notification")
    assert notification["data"]["notification_id"] == sent["notification_id"]
    assert notification["data"]["message"] == "&lt;b&gt;" and notification["namespace"] == "/"
    assert "stopped after 2 s" in err.decode()


async def test_monitor_ends_when_the_server_disconnects_it(server: Server) -> None:
    admin = await server.session("admin")
    async with monitoring("--url", server.url, "--session-id", admin.id, "--namespace", "/admin") as proc:
        status, _ = await server.api("DELETE", f"/api/v1/sessions/{admin.id}")
        assert status == 200
        out, err = await asyncio.wait_for(proc.communicate(), 15)
    assert proc.returncode == 1, err
    events = [json.loads(line) for line in out.decode().splitlines()]
    assert any(e["event"] == "auth_error" and e["data"]["error_code"] == "AUTH_INVALID_SESSION" for e in events)
    assert "monitor: disconnected" in err.decode()


async def test_monitor_refused_without_a_valid_session(server: Server) -> None:
    code, lines, _ = await tool("monitor", "--url", server.url, "--session-id", "nope", "--seconds", "1")
    assert code == 2 and lines[0]["refused"]["error_code"] == "AUTH_INVALID_SESSION"
