"""RUN_JOBS=inline on a Redis fleet: nodes claim their jobs like workers, so a drained node's job moves at once."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from typing import Any

import aiohttp
import pytest

from tests.integration.processes import issue_session, keep_reading, serving
from tests.integration.proxy import fleet_database
from tests.integration.waiting import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

SETTINGS = {
    "RUN_JOBS": "inline",
    "DEMO_POSTS": "40",
    "DEMO_CAPTION_SECONDS": "0.2",
    "JOB_LEASE_SECONDS": "60",  # far longer than the test waits: only a handed-back claim lets the job move
    "WORKER_POLL_SECONDS": "0.3",
    "DRAIN_SECONDS": "10",
    "DRAIN_READINESS_SECONDS": "0.2",
}


async def job_state(url: str, job_id: str) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{url}/api/v1/caption-jobs/{job_id}", headers={"Authorization": "Bearer proxy-token"}) as answer,
    ):
        assert answer.status == 200
        body: dict[str, Any] = await answer.json()
        return body


async def test_a_drained_inline_nodes_job_is_continued_by_the_other_node_at_once() -> None:
    async with fleet_database(**SETTINGS) as env:
        session = await asyncio.to_thread(issue_session, env, "demo")
        with serving(env) as node_a:
            keep_reading(node_a.stdout, node_a.output)
            async with (
                aiohttp.ClientSession() as http,
                http.post(
                    f"{node_a.url}/api/v1/caption-jobs",
                    json={"user_id": session["user_id"]},
                    headers={"Authorization": "Bearer proxy-token"},
                ) as answer,
            ):
                assert answer.status == 202
                job_id = (await answer.json())["job_id"]

            async def processed(url: str) -> int:
                return int((await job_state(url, job_id))["processed"])

            async def started() -> bool:
                return await processed(node_a.url) >= 2

            await eventually(started, within=15, what="the job to run on node A", every=0.1)
            with serving(env) as node_b:
                keep_reading(node_b.stdout, node_b.output)
                # Node B's start-up claim round leaves node A's job alone: A holds its lease.
                before = await processed(node_b.url)
                os.kill(node_a.pid, signal.SIGTERM)
                await asyncio.to_thread(node_a.wait, 15)
                assert node_a.returncode == 0
                assert "handed 1 running jobs back" in "".join(node_a.output), "".join(node_a.output)[-2000:]
                stopped = time.monotonic()
                at_stop = await processed(node_b.url)
                assert at_stop >= before

                async def moved_on() -> bool:
                    return await processed(node_b.url) > at_stop

                await eventually(moved_on, within=10, what="node B to continue the job", every=0.1)
                assert time.monotonic() - stopped < 10  # long before the 60 s lease would run out

                async def finished() -> bool:
                    return (await job_state(node_b.url, job_id))["status"] == "completed"

                await eventually(finished, within=60, what="the job to complete", every=0.3)
                job = await job_state(node_b.url, job_id)
                posts = [r["post_id"] for r in job["results"]]
                assert job["processed"] == 40
                assert len(posts) == len(set(posts)) == 40 and all(r["caption"] for r in job["results"])
