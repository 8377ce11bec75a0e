"""Publishing approved captions back to their posts: claim, re-read, write only what is safe, report."""

from __future__ import annotations

import logging

from application.outbox import Outbox
from application.ports import Clock, PlatformRepository, PlatformUnavailable, UserRepository
from application.review_ports import DescriptionWriter, ReviewRepository
from domain import events
from domain import messages as base_messages
from domain import review_messages as messages
from domain.review import ReviewItem, ReviewStatus, Verdict, publish_verdict

log = logging.getLogger("vedfolnir.publish")


class PublishCaptions:
    """Drains the publish queue (approved items, and claims left by a publisher that died).

    The item is claimed (a conditional write) before the platform is touched, and the platform is
    re-read before every write: a description already equal to ours is a write that happened before a
    crash, so it is not written twice; one a person wrote meanwhile is never overwritten.
    """

    def __init__(
        self,
        reviews: ReviewRepository,
        users: UserRepository,
        platforms: PlatformRepository,
        writer: DescriptionWriter,
        outbox: Outbox,
        clock: Clock,
        owner: str,
        claim_seconds: float = 300.0,
        batch_size: int = 20,
    ) -> None:
        self._reviews = reviews
        self._users = users
        self._platforms = platforms
        self._writer = writer
        self._outbox = outbox
        self._clock = clock
        self._owner = owner
        self._claim_seconds = claim_seconds
        self._batch_size = batch_size

    async def __call__(self, take_over_claims: bool = False) -> int:
        """Publishes until the queue is empty; returns how many items it settled.

        `take_over_claims` treats every claim as stale: for the one process that publishes, at its start.
        """
        settled = 0
        stale_before = self._clock.now() if take_over_claims else None
        while True:
            cutoff = stale_before if stale_before is not None else self._clock.now() - self._claim_seconds
            waiting = await self._reviews.publishable(cutoff, self._batch_size)
            progressed = False
            for item in waiting:
                claimed = item.claim(self._owner, self._clock.now())
                if not await self._reviews.save(claimed):
                    continue  # another publisher took it, or a reviewer changed it
                progressed = True
                await self._outbox.to_user(
                    claimed.user_id, events.REVIEW_ITEM_UPDATED, messages.review_item_updated(claimed, "publishing")
                )
                if await self._publish(claimed):
                    settled += 1
            if not progressed:
                return settled

    async def _publish(self, item: ReviewItem) -> bool:
        platform = await self._platforms.get(item.platform_id)
        verdict: Verdict | None = None
        now = self._clock.now
        if platform is None:
            outcome = item.failed("PLATFORM_CONNECTION_ERROR", "The platform connection is gone", False, now())
        else:
            try:
                remote = await self._writer.read(platform, item)
                verdict = publish_verdict(item, remote.description)
                if verdict is Verdict.WRITE:
                    await self._writer.write(platform, item, remote)
                outcome = item.conflicted(now()) if verdict is Verdict.KEEP_THEIRS else item.published(now())
            except PlatformUnavailable as exc:
                outcome = item.failed("PLATFORM_CONNECTION_ERROR", exc.message, exc.retry_possible, now())
        if not await self._reviews.save(outcome):
            log.warning("review item %s changed while it was published; its claim was taken over", item.id)
            return False
        if outcome.status is ReviewStatus.PUBLISHED:
            payload = messages.caption_published(outcome, verdict is Verdict.ALREADY_THERE)
            await self._outbox.to_user(outcome.user_id, events.CAPTION_PUBLISHED, payload)
        else:
            await self._outbox.to_user(
                outcome.user_id, events.CAPTION_PUBLISH_FAILED, messages.caption_publish_failed(outcome)
            )
        await self._outbox.to_user(
            outcome.user_id, events.REVIEW_ITEM_UPDATED, messages.review_item_updated(outcome, outcome.status.value)
        )
        if outcome.batch_id is not None:
            counts = {status.value: n for status, n in (await self._reviews.batch_counts(outcome.batch_id)).items()}
            progress = messages.publish_progress(outcome.user_id, outcome.batch_id, counts)
            await self._outbox.to_user(outcome.user_id, events.CAPTION_PUBLISH_PROGRESS, progress)
        owner = await self._users.get(outcome.user_id)
        if owner is not None:
            activity = "caption_published" if outcome.status is ReviewStatus.PUBLISHED else "caption_publish_failed"
            await self._outbox.to_admins(
                events.USER_ACTIVITY_UPDATE,
                base_messages.user_activity(owner, activity, messages.publish_activity(outcome)),
            )
        return True
