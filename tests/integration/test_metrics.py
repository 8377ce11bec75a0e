"""/metrics before and after a scripted session moves by exactly what happened, and agrees with the admin feed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.integration.harness import Server, serve, settings_for
from tests.integration.processes import free_port
from tests.integration.scrape import delta, moved, scrape, value


@pytest.fixture
async def quiet_server(tmp_path: Path) -> AsyncIterator[Server]:
    """No periodic status rounds: every delivery of the test is one the test caused."""
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}", system_status_interval=3600.0)
    async with serve(settings) as running:
        yield running


def pairs(changes: dict, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {tuple(sorted(labels)): v for (n, labels), v in changes.items() if n == name}


async def test_counters_move_by_exactly_the_scripted_session(quiet_server: Server) -> None:
    server = quiet_server
    url = server.url + "/metrics"
    before, nodes = await scrape(url)
    assert nodes == {server.settings.node_id}

    demo, admin_session = await server.session("demo"), await server.session("admin")
    admin = await server.client(admin_session, "/admin")
    user = await server.client(demo)
    await server.client(None, expect_refusal=True)  # AUTH_REQUIRED on /
    await server.client(demo, "/admin", expect_refusal=True)  # AUTH_INSUFFICIENT_PRIVILEGES on /admin
    try:
        await user.call("join_room", {"room_name": f"user_{demo.user_id}_captions"})
        await user.call("request_caption_status", {})
        await user.call("no_such_event", {})
        await user.call("leave_room", {"room_name": 5})
        status, job = await server.api("POST", "/api/v1/caption-jobs", {"user_id": demo.user_id})
        assert status == 202
        done = await user.inbox.until("caption_generation_completed", lambda d: d["job_id"] == job["job_id"], 20)

        def deliveries_settled(samples: dict) -> bool:
            # + 1 on each namespace: the refusal event each refused client got (REFUSAL_MODE=event)
            return (
                delta(before, samples, "vedfolnir_deliveries_total", namespace="/") == len(user.inbox.events) + 1
                and delta(before, samples, "vedfolnir_deliveries_total", namespace="/admin")
                == len(admin.inbox.events) + 1
            )

        deadline = asyncio.get_running_loop().time() + 5
        while not deliveries_settled(after := (await scrape(url))[0]):
            assert asyncio.get_running_loop().time() < deadline, moved(before, after, "vedfolnir_deliveries")
            await asyncio.sleep(0.05)

        changes = moved(before, after, "vedfolnir_")
        assert pairs(changes, "vedfolnir_connects_total") == {
            (("namespace", "/"), ("outcome", "accepted")): 1,
            (("namespace", "/admin"), ("outcome", "accepted")): 1,
            (("namespace", "/"), ("outcome", "AUTH_REQUIRED")): 1,
            (("namespace", "/admin"), ("outcome", "AUTH_INSUFFICIENT_PRIVILEGES")): 1,
        }
        assert pairs(changes, "vedfolnir_client_events_total") == {
            (("event", "join_room"), ("outcome", "ok")): 1,
            (("event", "request_caption_status"), ("outcome", "ok")): 1,
            (("event", "unknown"), ("outcome", "UNKNOWN_EVENT")): 1,
            (("event", "leave_room"), ("outcome", "INVALID_MESSAGE")): 1,
        }
        assert pairs(changes, "vedfolnir_limiter_decisions_total") == {
            (("decision", "allowed"), ("limit", "connect_attempts")): 4,
            (("decision", "allowed"), ("limit", "connections")): 2,
            (("decision", "allowed"), ("limit", "handshakes")): 4,
            (("decision", "allowed"), ("limit", "messages")): 4,
        }
        assert delta(before, after, "vedfolnir_jobs_started_total") == 1
        assert pairs(changes, "vedfolnir_jobs_finished_total") == {(("outcome", "completed"),): 1}
        assert pairs(changes, "vedfolnir_job_duration_seconds_count") == {(("outcome", "completed"),): 1}
        assert delta(before, after, "vedfolnir_job_duration_seconds_sum", outcome="completed") == pytest.approx(
            done["total_processing_time"]
        )
        assert delta(before, after, "vedfolnir_captions_total") == done["successful_captions"] == 5
        assert sum(pairs(changes, "vedfolnir_caption_errors_total").values()) == done["failed_captions"] == 1
        assert not pairs(changes, "vedfolnir_dropped_packets_total")
        assert value(after, "vedfolnir_connections", namespace="/") == 1
        assert value(after, "vedfolnir_connections", namespace="/admin") == 1
        assert delta(before, after, "vedfolnir_db_query_seconds_count") > 0
        # The engine answered every event of the user with one packet, each a delivery on "/".
        sent_to_user = [name for name, _ in user.inbox.events]
        assert sent_to_user.count("error") == 2 and "room_joined" in sent_to_user
        security = pairs(changes, "vedfolnir_security_events_total")
        assert security == {(("kind", "auth_refused"),): 1, (("kind", "invalid_message"),): 2}
    finally:
        await user.close()
        await admin.close()


async def test_metrics_agree_with_the_admin_feed(quiet_server: Server) -> None:
    server = quiet_server
    admin = await server.client(await server.session("admin"), "/admin")
    users = [await server.client(await server.session("demo")) for _ in range(3)]
    await server.client(None, expect_refusal=True)
    try:
        await users[0].call("no_such_event", {})
        await server.container.system_status()()
        feed = await admin.inbox.until("system_status_update", lambda s: s["component"] == "websocket_server")
        samples, _ = await scrape(server.url + "/metrics")
        metrics = feed["metrics"]
        live = value(samples, "vedfolnir_connections", namespace="/") + value(
            samples, "vedfolnir_connections", namespace="/admin"
        )
        assert live == metrics["node_active_connections"] == 4
        for kind, count in metrics["security_events"].items():
            assert value(samples, "vedfolnir_security_events_total", kind=kind) == count
        assert value(samples, "vedfolnir_jobs_running") == 0
    finally:
        for client in (*users, admin):
            await client.close()


async def test_metrics_on_a_port_of_their_own(tmp_path: Path) -> None:
    port = free_port()
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'p.db'}", metrics_port=port, node_id="node-x")
    async with serve(settings) as server:
        samples, nodes = await scrape(f"http://127.0.0.1:{port}/metrics")
        assert nodes == {"node-x"}
        assert ("vedfolnir_connections", frozenset({("namespace", "/")})) in samples
        async with aiohttp.ClientSession() as http, http.get(server.url + "/metrics") as answer:
            assert answer.status == 404
        headers = {f"X-Padding-{i}": "p" for i in range(settings.http_max_headers + 1)}
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/metrics", headers=headers) as a:
            assert a.status == 400 and a.headers["X-Content-Type-Options"] == "nosniff"  # the same header limits


@pytest.mark.redis
async def test_redis_latency_and_listener_state(tmp_path: Path) -> None:
    settings = settings_for(
        f"sqlite+aiosqlite:///{tmp_path / 'r.db'}",
        redis_url="redis://127.0.0.1:6379/0",
        redis_channel=f"vrt-metrics-{uuid.uuid4().hex[:8]}",
    )
    async with serve(settings) as server:
        user = await server.client(await server.session("demo"))
        try:
            await user.call("request_caption_status", {})
            samples, _ = await scrape(server.url + "/metrics")
        finally:
            await user.close()
        for listener in ("fanout", "jobs", "revocations"):
            assert value(samples, "vedfolnir_redis_listener_up", listener=listener) == 1
        # The connect-attempt, connection-slot and message decisions were Lua calls on Redis.
        assert value(samples, "vedfolnir_redis_command_seconds_count") >= 3
