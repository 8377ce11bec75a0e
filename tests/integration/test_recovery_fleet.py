"""Connection-state recovery across the fleet: the client's node is SIGKILLed, it recovers on another one."""

from __future__ import annotations

import asyncio
import signal

import pytest

from tests.integration.node_driver import assert_recovered_with_every_post, event, node_client
from tests.integration.processes import process, serving
from tests.integration.test_fleet import Fleet, fleet_env, start_job

__all__ = ["fleet_env"]
pytestmark = [pytest.mark.postgres, pytest.mark.redis]


async def test_a_client_recovers_on_another_node_after_its_node_was_killed(fleet_env: dict[str, str]) -> None:
    env = {**fleet_env, "DEMO_POSTS": "14", "DEMO_CAPTION_SECONDS": "0.15"}
    with serving(env) as node_a, serving(env) as node_b, process(env, "worker"):
        fleet = Fleet(env, node_a.url, node_b.url)
        demo = await asyncio.to_thread(fleet.session, "demo")
        async with node_client() as watcher, node_client() as page:
            await watcher.send(cmd="open", url=fleet.node_b, session=demo.id, csrf=demo.csrf_token)
            await page.send(cmd="open", url=fleet.node_a, session=demo.id, csrf=demo.csrf_token, reconnectionDelay=300)
            first = await page.wait_for(lambda line: line["type"] == "connect")
            await watcher.wait_for(lambda line: line["type"] == "connect")
            await start_job(fleet.node_a, demo.user_id)
            for _ in range(2):
                mark = page.mark()
                await page.wait_for(event("caption_generated"), since=mark)

            await page.send(cmd="url", url=fleet.node_b)  # where it will reconnect
            await page.wait_for(lambda line: line["type"] == "url")
            node_a.send_signal(signal.SIGKILL)
            node_a.wait(timeout=10)
            await page.wait_for(lambda line: line["type"] == "disconnect")
            await page.wait_for(event("caption_generation_completed"), timeout=30)
            await watcher.wait_for(event("caption_generation_completed"), timeout=30)

            assert_recovered_with_every_post(page, watcher, first, posts=14)
