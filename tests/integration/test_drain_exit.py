"""A node sent SIGTERM exits as soon as its clients are told to go, not on the engine's next sweep of closed sockets."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
from pathlib import Path

import aiohttp

from tests.integration.processes import cli, serving


async def test_a_drained_node_with_an_abandoned_polling_session_exits_at_once(tmp_path: Path) -> None:
    """A long-polling client that vanished without closing (its proxy gone, say) leaves a session with no pending
    poll. Told to reconnect, that session is closed at once; the engine drops closed sockets from its table only on
    a sweep up to a ping timeout (20 s) later, which the drain used to wait out, up to DRAIN_SECONDS."""
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'drain.db'}", "DRAIN_SECONDS": "30"}
    cli(env, "db", "upgrade")
    with serving(env) as server:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{server.url}/socket.io/?EIO=4&transport=polling") as opened:
                assert opened.status == 200
                assert "sid" in json.loads((await opened.text())[1:])
        server.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(server.wait, 8)  # (readiness 0 s here) the one session is closed
        except subprocess.TimeoutExpired:
            raise AssertionError(
                "the node was still draining 8 s after SIGTERM:\n" + "\n".join(server.output)
            ) from None
        assert server.returncode == 0
        log = "\n".join(server.output)
    assert "told 1 connections to reconnect" in log and "done, 0 connections left" in log, log
