"""Faults the fleet must survive: Redis restarting under connected clients, and limits while Redis is gone."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.harness import Server, serve, settings_for
from tests.integration.redis_server import ThrowawayRedis, throwaway_redis

pytestmark = pytest.mark.redis


@contextlib.asynccontextmanager
async def two_nodes(tmp_path: Path, redis: ThrowawayRedis, **overrides: object) -> AsyncIterator[tuple[Server, Server]]:
    settings = dict(redis_url=redis.url, redis_channel=f"vrt-fault-{uuid.uuid4().hex[:8]}", system_status_interval=0.3)
    settings.update(overrides)
    url = f"sqlite+aiosqlite:///{tmp_path / 'fleet.db'}"
    async with (
        serve(settings_for(url, node_id="a", **settings)) as a,
        serve(settings_for(url, node_id="b", **settings)) as b,
    ):
        yield a, b


async def test_redis_restart_keeps_local_delivery_alerts_admins_and_heals(tmp_path: Path) -> None:
    async with throwaway_redis() as redis, two_nodes(tmp_path, redis) as (a, b):
        demo = await a.session("demo")
        admin = await a.client(await a.session("admin"), "/admin")
        user_on_b = await b.client(demo)
        try:
            await admin.inbox.until(
                "system_status_update", lambda s: s["component"] == "redis" and s["status"] == "healthy"
            )
            status, _ = await a.api(
                "POST", "/api/v1/notifications", {"user_id": demo.user_id, "title": "t", "message": "before"}
            )
            assert status == 202
            assert (await user_on_b.inbox.next("user_notification"))["message"] == "before"

            await redis.kill()
            gone = await admin.inbox.until("admin_alert", lambda x: x["component"] == "redis", timeout=15)
            assert gone["severity"] == "critical"
            # Local delivery keeps working on each node while Redis is down.
            reply = await user_on_b.call("request_caption_status", {})
            assert reply["user_id"] == demo.user_id

            await redis.start()
            back = await admin.inbox.until("admin_alert", lambda x: x["component"] == "redis", timeout=15)
            assert back["severity"] == "info"
            # Every node's subscription came back by itself: A's emit reaches B's socket again.
            deadline = asyncio.get_running_loop().time() + 15
            while True:
                await a.api(
                    "POST", "/api/v1/notifications", {"user_id": demo.user_id, "title": "t", "message": "after"}
                )
                with contextlib.suppress(TimeoutError):
                    got = await user_on_b.inbox.until("user_notification", lambda n: n["message"] == "after", timeout=1)
                    break
                assert asyncio.get_running_loop().time() < deadline, "node B never heard from node A again"
            assert got["message"] == "after"
        finally:
            await admin.close()
            await user_on_b.close()


async def test_limits_fail_open_to_each_nodes_own_while_redis_is_down(tmp_path: Path) -> None:
    async with (
        throwaway_redis() as redis,
        two_nodes(tmp_path, redis, rate_limit_messages=5, max_connections_per_user=1) as (a, _b),
    ):
        session = await a.session("demo")
        await redis.kill()
        client = await a.client(session)  # fleet slots unreachable: this node's own cap (1) applies
        try:
            refused = await a.client(session, expect_refusal=True)
            assert refused.connect_error["data"]["error_code"] == "CONNECTION_LIMIT_EXCEEDED"
            answers = [await client.call("request_caption_status", {}) for _ in range(6)]
            assert [x.get("error_code") for x in answers] == [None] * 5 + ["RATE_LIMIT_EXCEEDED"]
        finally:
            await client.close()
