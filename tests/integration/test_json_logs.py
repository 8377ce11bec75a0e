"""LOG_FORMAT=json: every log line of a real server process is one JSON object with its context, and no secret."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import aiohttp

from tests.integration.harness import open_client
from tests.integration.hostile import API_TOKEN, server_process

REQUIRED = {"time", "level", "logger", "message", "node", "sid", "user_id", "event", "correlation_id"}
ANNOUNCEMENT = "vedfolnir-realtime "  # the start-up lines `serve` prints on stdout; logs go to stderr


def records(log: str) -> list[dict[str, Any]]:
    parsed = []
    for line in log.splitlines():
        if line.startswith(ANNOUNCEMENT):
            continue
        record = json.loads(line)  # every other line is one JSON object
        assert isinstance(record, dict), line
        assert REQUIRED <= set(record), line
        parsed.append(record)
    return parsed


async def test_a_runs_json_log_has_every_key_and_no_token_or_body(tmp_path: Path) -> None:
    body_text = "private-notification-body-7e1f"
    async with server_process(tmp_path, log_format="json", node_id="node-json") as server:
        session = await server.session("demo")
        client = await server.client(session)
        headers = {"Authorization": f"Bearer {API_TOKEN}", "X-Request-ID": "req-42"}
        try:
            answer = await client.call("leave_room", {"room_name": 7, "message_id": "msg-abc-1"})
            assert answer["error_code"] == "INVALID_MESSAGE"
            async with aiohttp.ClientSession() as http:
                async with http.post(
                    f"{server.url}/api/v1/notifications",
                    json={"user_id": session.user_id, "title": "t", "message": body_text},
                    headers=headers,
                ) as sent:
                    assert sent.status == 202
                await client.inbox.next("user_notification")
                async with http.delete(f"{server.url}/api/v1/sessions/{session.id}", headers=headers) as revoked:
                    assert revoked.status == 200
            await client.inbox.next("auth_error")
        finally:
            await client.close()
        refused = await open_client(server.url, None, expect_refusal=True)
        assert refused.connect_error["data"]["error_code"] == "AUTH_REQUIRED"
        deadline = time.monotonic() + 5
        while "/api/v1/sessions/{session_id}" not in server.log():  # the access record follows the response
            assert time.monotonic() < deadline, server.log()
            await asyncio.sleep(0.05)
        log = server.log()

    parsed = records(log)
    assert parsed and all(r["node"] == "node-json" for r in parsed)
    for secret in (session.id, session.csrf_token, API_TOKEN, body_text):
        assert secret not in log

    invalid = next(r for r in parsed if r.get("security_event") == "invalid_message")
    assert invalid["event"] == "leave_room" and invalid["correlation_id"] == "msg-abc-1"
    assert invalid["sid"] and invalid["user_id"] == session.user_id and invalid["level"] == "WARNING"

    access = [r for r in parsed if r["event"] == "http_request" and r["logger"] == "vedfolnir.access"]
    routes = {(r["method"], r["route"], r["status"]) for r in access}
    assert ("DELETE", "/api/v1/sessions/{session_id}", 200) in routes
    assert ("POST", "/api/v1/notifications", 202) in routes
    assert all(r["correlation_id"] == "req-42" for r in access if r["route"].startswith("/api/v1/notifications"))
