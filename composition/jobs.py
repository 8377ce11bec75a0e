"""Caption jobs and publishing: running jobs (here or on workers), the review queue and the publish loop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from dependency_injector import containers, providers

from adapters.outbound.memory.fleet import LeaveToWorkers
from adapters.outbound.memory.publish_loop import InProcessPublishLoop
from adapters.outbound.memory.scheduler import InProcessJobScheduler
from application.fleet import ClaimJobs
from application.job_admin import CancelCaptionJob, GetCaptionJob
from application.job_control import PauseCaptionGeneration, RequestCaptionStatus, ResumeCaptionGeneration
from application.publish import PublishCaptions
from application.review import ReviewCaptions, ReviewIntake, ReviewQueue
from application.run_job import RunCaptionJob
from application.start_job import RecoverJobs, StartCaptionJob
from composition.claimed_jobs import ClaimThenRun, InlineClaims
from composition.config import MEMORY, Settings


async def running_jobs(
    scheduler: InProcessJobScheduler, publish_loop: InProcessPublishLoop, *_after: Any
) -> AsyncIterator[None]:
    """Jobs and publishing stop first at the end: `_after` (the stores they write to) close after them."""
    yield None
    await scheduler.close()
    await publish_loop.close()


def jobs_mode_of(settings: Settings) -> str:
    """inline: this process alone runs every job; claimed: inline, but each node claims its jobs on Redis
    like a worker, so a fleet of inline nodes never runs a job twice and a draining node's jobs move at once."""
    if not settings.jobs_inline:
        return "workers"
    return "inline" if settings.bus == MEMORY else "claimed"


class Jobs(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    clock: providers.Dependency[Any] = providers.Dependency()
    tokens: providers.Dependency[Any] = providers.Dependency()
    storage = providers.DependenciesContainer()
    fleet = providers.DependenciesContainer()
    transport = providers.DependenciesContainer()
    clients = providers.DependenciesContainer()

    publish_loop = providers.Singleton(InProcessPublishLoop)
    review_intake = providers.Singleton(ReviewIntake, storage.reviews, transport.outbox, publish_loop, clock, tokens)
    review_queue = providers.Singleton(ReviewQueue, storage.reviews, storage.users)
    review_captions = providers.Singleton(
        ReviewCaptions,
        storage.reviews,
        storage.users,
        storage.platforms,
        clients.caption_generator,
        transport.outbox,
        publish_loop,
        clock,
        tokens,
    )
    publish_captions = providers.Singleton(
        PublishCaptions,
        storage.reviews,
        storage.users,
        storage.platforms,
        clients.description_writer,
        transport.outbox,
        clock,
        settings.provided.node_id,
        settings.provided.publish_claim_seconds,
    )

    run_job = providers.Singleton(
        RunCaptionJob,
        storage.jobs,
        storage.users,
        storage.platforms,
        clients.post_source,
        clients.caption_generator,
        fleet.signals,
        transport.outbox,
        clock,
        settings.provided.job_recheck_seconds,
        intake=review_intake,
        max_attempts=settings.provided.job_max_attempts,
    )
    scheduler = providers.Singleton(InProcessJobScheduler, run_job)
    claim_jobs = providers.Singleton(ClaimJobs, storage.jobs, fleet.job_leases, scheduler, settings.provided.node_id)
    jobs_mode = providers.Callable(jobs_mode_of, settings)
    # Where a new job goes: run here, claimed and run here (inline on a Redis fleet), or left for a worker.
    job_intake = providers.Selector(
        jobs_mode,
        inline=scheduler,
        claimed=providers.Singleton(ClaimThenRun, claim_jobs),
        workers=providers.Singleton(LeaveToWorkers),
    )
    inline_claims = providers.Singleton(
        InlineClaims, claim_jobs, scheduler, settings.provided.worker_poll_seconds, settings.provided.node_id
    )
    start_job = providers.Singleton(
        StartCaptionJob, storage.users, storage.platforms, storage.jobs, job_intake, clock, tokens
    )
    recover_jobs = providers.Singleton(RecoverJobs, storage.jobs, scheduler)
    get_job = providers.Singleton(GetCaptionJob, storage.jobs)
    cancel_job = providers.Singleton(CancelCaptionJob, storage.jobs, fleet.signals, transport.outbox, clock)
    request_caption_status = providers.Singleton(RequestCaptionStatus, storage.jobs)
    pause = providers.Singleton(PauseCaptionGeneration, storage.jobs, clock)
    resume = providers.Singleton(ResumeCaptionGeneration, storage.jobs, fleet.signals, clock)
