"""Findings 3 and 4 against a real server process: no tokens or bodies in the log, no forged log lines."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from tests.integration.hostile import server_process
from tests.integration.rawio import RawSocket

FORGED = "2026-01-01 00:00:00,000 CRITICAL vedfolnir.security FORGED"


async def _until_in_log(server: object, text: str, timeout: float = 5.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        log = server.log()  # type: ignore[attr-defined]
        if text in log or time.monotonic() > deadline:
            return str(log)
        await asyncio.sleep(0.05)


async def test_no_session_id_token_or_body_reaches_the_log_and_no_input_starts_a_line(tmp_path: Path) -> None:
    async with server_process(tmp_path) as server:
        session = await server.session("demo")
        raw = await RawSocket.open(server.url)
        try:
            answer = await raw.connect({"session_id": session.id, "csrf_token": session.csrf_token})
            assert answer.startswith("40{"), answer
            await raw.send("42" + json.dumps([f"x\n{FORGED} event", {"room_name": "secret-body-text"}]))
            await raw.event("error")
            await raw.send(f"4ZZ\n{FORGED} frame")
            await raw.send('420["request_caption_status",{"csrf_token":"' + session.csrf_token + '"}]')
            await raw.expect(lambda m: m.startswith("430"))
        finally:
            await raw.close()
        log = await _until_in_log(server, "malformed_packet")
    assert "security event invalid_message" in log and "malformed_packet" in log, log
    for secret in (session.id, session.csrf_token, "secret-body-text"):
        assert secret not in log
    assert "Received packet" not in log and "Sending packet" not in log
    lines = log.splitlines()
    assert not [line for line in lines if line.startswith(FORGED[:10]) and "FORGED" in line], log
    assert any("\\n" in line and "FORGED" in line for line in lines), "the event name is logged escaped"
