"""A SIGTERM drain with RUN_JOBS=inline on Redis: the job moves to the other node at once and the stock client,
told to reconnect, recovers there (missed events replayed) and sees the job to its end."""

from __future__ import annotations

import asyncio
import signal

import pytest

from tests.integration.node_driver import assert_recovered_with_every_post, event, node_client
from tests.integration.processes import keep_reading, serving
from tests.integration.test_fleet import Fleet, fleet_env, start_job

__all__ = ["fleet_env"]
pytestmark = [pytest.mark.postgres, pytest.mark.redis]


async def test_a_drained_nodes_client_recovers_on_the_other_node_which_continues_its_job(
    fleet_env: dict[str, str],
) -> None:
    env = {
        **fleet_env,
        "RUN_JOBS": "inline",
        "JOB_LEASE_SECONDS": "60",  # only a handed-back claim lets the job move within the test's waits
        "DEMO_POSTS": "14",
        "DEMO_CAPTION_SECONDS": "0.15",
        "DRAIN_SECONDS": "10",
        "DRAIN_READINESS_SECONDS": "0.2",
    }
    with serving(env) as node_a, serving(env) as node_b:
        keep_reading(node_a.stdout, node_a.output)
        fleet = Fleet(env, node_a.url, node_b.url)
        demo = await asyncio.to_thread(fleet.session, "demo")
        async with node_client() as watcher, node_client() as page:
            await watcher.send(cmd="open", url=fleet.node_b, session=demo.id, csrf=demo.csrf_token)
            await page.send(cmd="open", url=fleet.node_a, session=demo.id, csrf=demo.csrf_token, reconnectionDelay=300)
            first = await page.wait_for(lambda line: line["type"] == "connect")
            await watcher.wait_for(lambda line: line["type"] == "connect")
            await start_job(fleet.node_a, demo.user_id)  # runs on node A: it claims the jobs it starts
            for _ in range(2):
                mark = page.mark()
                await page.wait_for(event("caption_generated"), since=mark)

            await page.send(cmd="url", url=fleet.node_b)  # where it will reconnect (as nginx would send it)
            await page.wait_for(lambda line: line["type"] == "url")
            node_a.send_signal(signal.SIGTERM)
            await asyncio.to_thread(node_a.wait, 15)
            assert node_a.returncode == 0
            assert "handed 1 running jobs back" in "".join(node_a.output)
            await page.wait_for(lambda line: line["type"] == "disconnect")
            await page.wait_for(event("caption_generation_completed"), timeout=20)
            await watcher.wait_for(event("caption_generation_completed"), timeout=20)

            assert_recovered_with_every_post(page, watcher, first, posts=14)
