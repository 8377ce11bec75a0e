"""A rolling restart behind nginx: two nodes and a worker restarted one by one under 200 clients and a running job."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.integration.harness import Client
from tests.integration.processes import ServingProcess, issue_session, keep_reading, process, serving
from tests.integration.proxy import client_from, close_from, fleet_database, nginx, nginx_missing
from tests.integration.scrape import scrape, value
from tests.integration.waiting import eventually

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.skipif(bool(nginx_missing()), reason=str(nginx_missing())),
]

CLIENTS = 200
SOURCES = [f"127.0.0.{n}" for n in range(20, 28)]  # several client addresses: nginx spreads them over both nodes
SETTINGS = {
    "RUN_JOBS": "workers",
    "MAX_CONNECTIONS_PER_USER": "10000",
    "CONNECT_ATTEMPTS_PER_HOUR": "100000",
    "HANDSHAKES_PER_IP_PER_MINUTE": "100000",
    "DEMO_POSTS": "60",
    "DEMO_CAPTION_SECONDS": "0.25",
    "JOB_LEASE_SECONDS": "60",  # far longer than the test waits: only a handed-back claim lets a job move
    "WORKER_POLL_SECONDS": "0.3",
    "DRAIN_SECONDS": "10",
    "DRAIN_READINESS_SECONDS": "0.5",
}


class Connects:
    """When each client last connected and disconnected (a shared sequence), and how often it was dropped."""

    def __init__(self, clients: list[Client]) -> None:
        self.clients = clients
        self.sequence = 0
        self.last_connect = [0] * len(clients)
        self.last_disconnect = [-1] * len(clients)
        self.disconnects = [0] * len(clients)
        for i, client in enumerate(clients):

            async def on_connect(i: int = i) -> None:
                self.sequence += 1
                self.last_connect[i] = self.sequence

            async def on_disconnect(*_: Any, i: int = i) -> None:
                self.sequence += 1
                self.last_disconnect[i] = self.sequence
                self.disconnects[i] += 1

            client.sio.on("connect", on_connect, namespace="/")
            client.sio.on("disconnect", on_disconnect, namespace="/")

    def connected(self) -> int:
        return sum(1 for c in self.clients if c.sio.connected and "/" in c.sio.namespaces)

    def report(self) -> str:
        errors = {repr(c.connect_error)[:300] for c in self.clients if c.connect_error is not None}
        back = sum(1 for c, d in zip(self.last_connect, self.last_disconnect, strict=True) if c > d)
        return (
            f"not every client reconnected: {self.connected()}/{len(self.clients)} connected, "
            f"{back} connected since their last drop, {sum(self.disconnects)} drops; errors {list(errors)[:5]}"
        )

    def settled_after(self, dropped_before: int) -> bool:
        """Some clients were dropped since, and every client is connected again since its last drop."""
        return (
            sum(self.disconnects) > dropped_before
            and self.connected() == len(self.clients)
            and all(c > d for c, d in zip(self.last_connect, self.last_disconnect, strict=True))
        )


async def open_clients(url: str, session: dict[str, Any]) -> list[Client]:
    auth = {"session_id": session["session_id"], "csrf_token": session["csrf_token"]}
    clients: list[Client] = []
    for batch in range(0, CLIENTS, 25):
        opened = await asyncio.gather(
            *(client_from(url, SOURCES[i % len(SOURCES)], auth, reconnection=True) for i in range(batch, batch + 25))
        )
        clients.extend(opened)
    return clients


async def job_state(url: str, job_id: str) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{url}/api/v1/caption-jobs/{job_id}", headers={"Authorization": "Bearer proxy-token"}) as answer,
    ):
        assert answer.status == 200
        body: dict[str, Any] = await answer.json()
        return body


async def readyz(port: int) -> int | None:
    try:
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/readyz") as answer:
            return answer.status
    except aiohttp.ClientError:
        return None


async def drain_and_exit(node: ServingProcess) -> float:
    """SIGTERM; readyz answers 503 before the port closes; returns the seconds the node took to exit."""
    started = time.monotonic()
    os.kill(node.pid, signal.SIGTERM)
    statuses = set()
    while node.poll() is None:
        statuses.add(await readyz(node.port))
        await asyncio.sleep(0.05)
    assert 503 in statuses, statuses  # a balancer polling readyz saw the node drain before it went
    assert node.returncode == 0
    return time.monotonic() - started


async def test_rolling_restart_loses_no_job_and_every_client_comes_back(tmp_path: Path) -> None:
    async with fleet_database(**SETTINGS) as env:
        session = await asyncio.to_thread(issue_session, env, "demo")
        with serving(env) as first_a, serving(env) as first_b:
            for node in (first_a, first_b):
                keep_reading(node.stdout, node.output)
            ports = [first_a.port, first_b.port]
            with nginx(tmp_path / "nginx", ports) as url, process(env, "worker") as worker_1:
                clients = await open_clients(url, session)
                connects = Connects(clients)
                stack: list[Any] = []
                try:
                    async with (
                        aiohttp.ClientSession() as http,
                        http.post(
                            f"{url}/api/v1/caption-jobs",
                            json={"user_id": session["user_id"]},
                            headers={"Authorization": "Bearer proxy-token"},
                        ) as answer,
                    ):
                        assert answer.status == 202
                        job_id = (await answer.json())["job_id"]
                    watcher = clients[0]
                    await watcher.inbox.next("caption_generated", timeout=15)

                    # The worker running the job: a second one takes over at once when the first hands it back.
                    second_worker = process(env, "worker")
                    stack.append(second_worker)
                    second_worker.__enter__()
                    seen = len(watcher.inbox.of("caption_generated"))
                    worker_1.send_signal(signal.SIGTERM)
                    await asyncio.to_thread(worker_1.wait, 15)
                    handed_back = time.monotonic()
                    await eventually(
                        lambda: len(watcher.inbox.of("caption_generated")) > seen, within=10, what="the job to go on"
                    )
                    assert time.monotonic() - handed_back < 10  # long before the 60 s claim would run out

                    # Node A, then node B, while the job runs: drained with SIGTERM, restarted on the same port.
                    nodes = {0: first_a, 1: first_b}
                    for index in (0, 1):
                        samples, _ = await scrape(f"{nodes[index].url}/metrics")
                        held = value(samples, "vedfolnir_connections", namespace="/")
                        # The node's own clients are dropped (if nginx's hash gave it any) and all come back.
                        dropped = sum(connects.disconnects) if held else -1
                        took = await drain_and_exit(nodes[index])
                        assert took < 10 + 3
                        drained_log = "".join(nodes[index].output)
                        # Told in batches, the drained node parked every connection's recovery state in Redis.
                        assert "could not park" not in drained_log and "Too many connections" not in drained_log
                        try:
                            await eventually(lambda d=dropped: connects.settled_after(d), within=40, what="reconnects")
                        except AssertionError:
                            logs = "".join(line for node in nodes.values() for line in node.output[-10:])
                            nginx_log = (tmp_path / "nginx" / "error.log").read_text()[-3000:]
                            raise AssertionError(f"{connects.report()}\n{logs}\n{nginx_log}") from None
                        restarted = serving(env, ports[index])
                        nodes[index] = restarted.__enter__()
                        keep_reading(nodes[index].stdout, nodes[index].output)
                        stack.append(restarted)

                    async def finished() -> bool:
                        return (await job_state(url, job_id))["status"] == "completed"

                    await eventually(finished, within=60, what="the job to complete", every=0.5)
                    job = await job_state(url, job_id)
                    assert job["processed"] == 60
                    posts = [r["post_id"] for r in job["results"]]
                    assert len(posts) == len(set(posts)) == 60 and all(r["caption"] for r in job["results"])
                    # Node B's drain dropped everyone (all were on B after A's): every client came back each time.
                    assert min(connects.disconnects) >= 1 and connects.settled_after(-1)
                finally:
                    await asyncio.gather(*(close_from(c) for c in clients), return_exceptions=True)
                    for entered in reversed(stack):
                        entered.__exit__(None, None, None)
