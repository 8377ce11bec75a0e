"""The reference's tool names (`python scripts/...py`) run the CLI's tools from a checkout."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from tests.integration.harness import Server

ROOT = Path(__file__).resolve().parents[2]


async def script(name: str, *args: str) -> tuple[int, list[dict], str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "scripts" / name), *args, cwd="/", stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, [json.loads(line) for line in out.decode().splitlines() if line.strip()], err.decode()


async def test_the_three_scripts_of_the_reference(sqlite_server: Server) -> None:
    url = sqlite_server.url
    code, lines, _ = await script("test_websocket_connection.py", "--url", url)
    assert code == 2 and lines[0]["refused"]["error_code"] == "AUTH_REQUIRED"
    assert lines[0]["delivered_as"] == "auth_required"

    demo = await sqlite_server.session("demo")
    code, lines, err = await script("test_websocket_connection.py", "--url", url, "--session-id", demo.id)
    assert code == 0 and lines[0]["connected"] is True, err

    code, lines, err = await script(
        "monitor_websocket_events.py", "--url", url, "--session-id", demo.id, "--csrf-token", demo.csrf_token,
        "--room", f"user_{demo.user_id}_captions", "--seconds", "0.5",
    )  # fmt: skip
    assert code == 0, err
    assert '"success": true' in err  # the join_room answer

    code, lines, _ = await script("test_websocket_cors.py", "--url", url, "--origin", "https://evil.example")
    assert code == 2 and lines[0]["refusal"]["data"]["error_code"] == "CORS_ORIGIN_NOT_ALLOWED"
    code, lines, _ = await script("test_websocket_cors.py", "--url", url, "--origin", "http://127.0.0.1:5000")
    assert code == 0 and lines[0]["access_control_allow_origin"] == "http://127.0.0.1:5000"
    assert lines[0]["access_control_allow_credentials"] == "true" and "warning" not in lines[0]
