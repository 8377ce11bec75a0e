"""The console script as an operator uses it: migrate, add users, issue and revoke sessions against a live node."""

from __future__ import annotations

import asyncio
from pathlib import Path

import socketio

from tests.integration.harness import Inbox
from tests.integration.processes import cli, serving


async def test_cli_manages_users_and_sessions_of_a_running_node(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}", "SESSION_CHECK_INTERVAL": "0.3"}
    assert "latest migration" in cli(env, "db", "upgrade")
    user = cli(env, "users", "add", "carol", "--role", "moderator")
    assert user == {"id": 1, "username": "carol", "role": "moderator", "active": True}
    issued = cli(env, "sessions", "issue", "carol", "--ttl", "600")
    assert set(issued) == {"cookie_name", "session_id", "csrf_token", "user_id", "expires_at"}
    assert issued["cookie_name"] == "session" and len(issued["session_id"]) >= 32

    with serving(env) as server:
        sio = socketio.AsyncClient(reconnection=False)
        inbox = Inbox()

        async def record(event: str, data: object = None, *_offset: str) -> None:
            await inbox.put(event, data)

        sio.on("*", record)
        await sio.connect(
            server.url,
            headers={"Cookie": f"session={issued['session_id']}"},
            auth={"csrf_token": issued["csrf_token"]},
            transports=["websocket"],
        )
        try:
            joined = await sio.call("join_room", {"room_name": "user_1_captions"}, timeout=5)
            assert joined["success"] is True
            revoked = await asyncio.to_thread(cli, env, "sessions", "revoke", issued["session_id"])
            assert revoked == {"session_id": issued["session_id"], "revoked": True}
            error = await inbox.next("auth_error", timeout=5)  # another process revoked it: the sweep finds it
            assert error["error_code"] == "AUTH_INVALID_SESSION"
        finally:
            await sio.disconnect()


def test_cli_refuses_unknown_users_with_a_clear_message(tmp_path: Path) -> None:
    import subprocess

    from tests.integration.processes import SCRIPT, child_env

    env = child_env({"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"})
    done = subprocess.run(
        [str(SCRIPT), "sessions", "issue", "nobody"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert '"error_code": "NOT_FOUND"' in done.stderr and "Traceback" not in done.stderr


def test_cli_errors_are_json_on_stderr_for_unknown_users_platform_owners_and_taken_names(tmp_path: Path) -> None:
    import json
    import subprocess

    from tests.integration.processes import SCRIPT, child_env

    env = child_env({"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"})

    def refused(*args: str) -> dict[str, object]:
        done = subprocess.run([str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
        answer: dict[str, object] = json.loads(done.stderr.strip().splitlines()[-1])
        return answer

    cli(env, "db", "upgrade")
    # through ConnectPlatform (no direct repository write, no plain-text "no such user" line any more)
    nobody = refused("platforms", "add", "nobody", "--name", "N", "--url", "https://pix.example")
    assert nobody["error_code"] == "NOT_FOUND" and nobody["username"] == "nobody"
    cli(env, "users", "add", "carol")
    assert refused("users", "add", "carol")["error_code"] == "CONFLICT"  # taken
    assert refused("users", "add", "c\u00e4rol")["error_code"] == "INVALID_MESSAGE"  # not ASCII: one username rule
    added = cli(env, "platforms", "add", "carol", "--name", "Pix", "--url", "https://pix.example")
    assert added["user_id"] == 1 and added["status"] == "disconnected"
