"""A worker process: claims caption jobs and runs them; emits through Redis, serves no sockets."""

from __future__ import annotations

import asyncio
import logging

from adapters.inbound.metrics_http import serve_metrics
from adapters.inbound.periodic import every
from adapters.stopping import stop_tasks
from composition.config import Settings
from composition.container import build_container
from composition.lifecycle import running, start_publishing

log = logging.getLogger("vedfolnir")


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    """Runs until `stop` is set; the jobs it holds then are handed back for another worker to claim."""
    if not settings.redis_url:
        raise ValueError("a worker needs REDIS_URL: it emits to the serving nodes through Redis")
    container = build_container(settings)
    container.manager.override(container.write_only_manager)
    container.logged_emitter.override(container.worker_logged_emitter)
    container.publisher.override(container.worker_publisher)
    claim = container.claim_jobs()
    container.scheduler().on_finished(claim.finished)
    metrics = container.metrics()
    metrics.watch(running_jobs=lambda: container.scheduler().running)
    metrics_runner = (
        await serve_metrics(metrics, settings.flask_host, settings.metrics_port) if settings.metrics_port else None
    )
    async with running(container):
        log.info("worker %s claiming jobs every %.1f s", settings.node_id, settings.worker_poll_seconds)
        loop = asyncio.get_running_loop()
        claiming = loop.create_task(every(settings.worker_poll_seconds, claim, "job claims", at_start=True))
        start_publishing(container)
        try:
            await stop.wait()
        finally:
            await stop_tasks([claiming], "job claims loop")
            # Hand the running jobs back: stop them first, then release their claims (the scheduler's
            # on_finished hook does it per job), so another worker continues at once and never runs a job
            # while this one still does. A post cut short is captioned again by the next runner.
            stopping = len(claim.running)
            await container.scheduler().close()
            for job_id in list(claim.running):
                await claim.finished(job_id)
            if stopping:
                log.info("worker %s handed %d running jobs back", settings.node_id, stopping)
    if metrics_runner is not None:
        await metrics_runner.cleanup()
