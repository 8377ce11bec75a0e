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
        Items of the same post are published together: one read, and on Mastodon one status edit.
        """
        settled = 0
        stale_before = self._clock.now() if take_over_claims else None
        while True:
            cutoff = stale_before if stale_before is not None else self._clock.now() - self._claim_seconds
            waiting = await self._reviews.publishable(cutoff, self._batch_size)
            posts: dict[tuple[int, str], list[ReviewItem]] = {}
            for item in waiting:
                claimed = item.claim(self._owner, self._clock.now())
                if not await self._reviews.save(claimed):
                    continue  # another publisher took it, or a reviewer changed it
                posts.setdefault((claimed.platform_id, claimed.status_id), []).append(claimed)
                await self._outbox.to_user(
                    claimed.user_id, events.REVIEW_ITEM_UPDATED, messages.review_item_updated(claimed, "publishing")
                )
            if not posts:
                return settled
            for (platform_id, status_id), items in posts.items():
                settled += await self._publish(platform_id, status_id, items)

    async def _publish(self, platform_id: int, status_id: str, items: list[ReviewItem]) -> int:
        """Publishes the claimed items of one post; returns how many outcomes were stored."""
        platform = await self._platforms.get(platform_id)
        now = self._clock.now
        verdicts: dict[str, Verdict] = {}
        if platform is None:
            outcomes = [
                i.failed("PLATFORM_CONNECTION_ERROR", "The platform connection is gone", False, now()) for i in items
            ]
        else:
            try:
                remote = await self._writer.read(platform, status_id)
                captions: dict[str, str] = {}
                for item in items:
                    if item.media_id in remote.descriptions:
                        verdicts[item.id] = publish_verdict(item, remote.descriptions[item.media_id])
                        if verdicts[item.id] is Verdict.WRITE:
                            captions[item.media_id] = item.caption
                if captions:
                    await self._writer.write(platform, status_id, captions, remote)
                outcomes = [self._settled(i, verdicts.get(i.id)) for i in items]
            except PlatformUnavailable as exc:
                outcomes = [
                    i.failed("PLATFORM_CONNECTION_ERROR", exc.message, exc.retry_possible, now()) for i in items
                ]
        stored = 0
        for outcome in outcomes:
            if await self._reviews.save(outcome):
                stored += 1
                await self._announce(outcome, verdicts.get(outcome.id) is Verdict.ALREADY_THERE)
            else:
                log.warning("review item %s changed while it was published; its claim was taken over", outcome.id)
        return stored

    def _settled(self, item: ReviewItem, verdict: Verdict | None) -> ReviewItem:
        now = self._clock.now()
        if verdict is None:
            return item.failed("PLATFORM_CONNECTION_ERROR", "The image is no longer attached to its post", False, now)
        return item.conflicted(now) if verdict is Verdict.KEEP_THEIRS else item.published(now)

    async def _announce(self, outcome: ReviewItem, already_there: bool) -> None:
        if outcome.status is ReviewStatus.PUBLISHED:
            await self._outbox.to_user(
                outcome.user_id, events.CAPTION_PUBLISHED, messages.caption_published(outcome, already_there)
            )
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
