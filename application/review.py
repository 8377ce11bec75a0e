"""The review queue: every generated caption waits for a person (or the platform's auto-approve) before publishing."""

from __future__ import annotations

import logging
from typing import Any

from application.outbox import Outbox
from application.ports import CaptionFailure, CaptionGenerator, Clock, PlatformRepository, TokenSource, UserRepository
from application.review_ports import PublishTrigger, ReviewRepository
from domain import events
from domain import review_messages as messages
from domain.errors import DomainError, ErrorCode
from domain.identity import User
from domain.jobs import CaptionJob, CaptionResult, PostImage
from domain.platforms import PlatformConnection
from domain.review import ReviewItem, ReviewStatus, can_read, check_can_review, new_review_item
from domain.validation import validate

log = logging.getLogger("vedfolnir.review")


class ReviewIntake:
    """Stores a generated caption as a review item (approved at once where the platform auto-approves)."""

    def __init__(
        self, reviews: ReviewRepository, outbox: Outbox, trigger: PublishTrigger, clock: Clock, tokens: TokenSource
    ) -> None:
        self._reviews = reviews
        self._outbox = outbox
        self._trigger = trigger
        self._clock = clock
        self._tokens = tokens

    async def __call__(
        self, platform: PlatformConnection, job: CaptionJob, post: PostImage, result: CaptionResult
    ) -> None:
        """Idempotent: a post already queued for this job is left as it is (a restarted job calls again)."""
        if result.caption is None or post.status_id is None or post.media_id is None:
            return  # nothing generated, or a source that cannot publish (the demo posts of a real platform)
        now = self._clock.now()
        item = new_review_item(self._tokens.message_id(), platform, job.id, post, result.caption, now)
        auto = await self._reviews.auto_approve(platform.id)
        if auto:
            item = item.approve(job.user_id, now)
        if not await self._reviews.add(item):
            return
        await self._outbox.to_user(
            item.user_id, events.REVIEW_ITEM_UPDATED, messages.review_item_updated(item, "added")
        )
        if auto:
            self._trigger.kick()


class ReviewQueue:
    """What a user may read: their own items (admins: everyone's, or one user's)."""

    def __init__(self, reviews: ReviewRepository, users: UserRepository) -> None:
        self._reviews = reviews
        self._users = users

    async def from_request(self, params: Any) -> list[ReviewItem]:
        fields = validate(events.REVIEW_LIST_SCHEMA, _numbers(params, "user_id", "owner_id", "limit"))
        status = ReviewStatus(fields["status"]) if "status" in fields else None
        return await self.list(fields["user_id"], status, fields.get("limit", 200), fields.get("owner_id"))

    async def list(
        self, actor_id: int, status: ReviewStatus | None = None, limit: int = 200, owner_id: int | None = None
    ) -> list[ReviewItem]:
        """Without `owner_id`, an admin sees everyone's items and anyone else their own."""
        actor = await _actor(self._users, actor_id)
        if owner_id is not None and not can_read(actor, owner_id):
            raise DomainError(
                ErrorCode.AUTH_INSUFFICIENT_PRIVILEGES, "You may only list your own captions", owner_id=owner_id
            )
        owner = owner_id if owner_id is not None else (None if actor.is_admin else actor.id)
        return await self._reviews.find(owner, [status] if status else None, limit)

    async def get(self, actor_id: int, item_id: str) -> ReviewItem:
        actor = await _actor(self._users, actor_id)
        item = await self._reviews.get(item_id)
        if item is None or not can_read(actor, item.user_id):
            raise DomainError(ErrorCode.NOT_FOUND, "No such review item", item_id=item_id)
        return item


class ReviewCaptions:
    """Edit, approve, reject, regenerate (one or many), and each platform's auto-approve setting."""

    def __init__(
        self,
        reviews: ReviewRepository,
        users: UserRepository,
        platforms: PlatformRepository,
        generator: CaptionGenerator,
        outbox: Outbox,
        trigger: PublishTrigger,
        clock: Clock,
        tokens: TokenSource,
    ) -> None:
        self._reviews = reviews
        self._users = users
        self._platforms = platforms
        self._generator = generator
        self._outbox = outbox
        self._trigger = trigger
        self._clock = clock
        self._tokens = tokens

    async def act(self, action: str, item_id: str, body: Any) -> ReviewItem:
        """One action of the HTTP API: edit, approve, reject or regenerate, by the acting `user_id` of the body."""
        fields = validate(events.REVIEW_ACTION_SCHEMA, body)
        actor_id, caption = fields["user_id"], fields.get("caption")
        if action == "edit":
            if caption is None:
                raise DomainError(ErrorCode.INVALID_MESSAGE, "Field 'caption' is required", field="caption")
            return await self.edit(actor_id, item_id, caption)
        if action == "approve":
            return await self.approve(actor_id, item_id, caption)
        if caption is not None:
            raise DomainError(
                ErrorCode.INVALID_MESSAGE, f"Field 'caption' has no meaning for {action}", field="caption"
            )
        if action == "reject":
            return await self.reject(actor_id, item_id)
        if action == "regenerate":
            return await self.regenerate(actor_id, item_id)
        raise DomainError(ErrorCode.NOT_FOUND, "No such review action", action=action)

    async def edit(self, actor_id: int, item_id: str, caption: str) -> ReviewItem:
        actor, item = await self._reviewable(actor_id, item_id)
        return await self._store(item.edit(caption, actor.id, self._clock.now()), "edited")

    async def approve(self, actor_id: int, item_id: str, caption: str | None = None) -> ReviewItem:
        actor, item = await self._reviewable(actor_id, item_id)
        approved = await self._store(item.approve(actor.id, self._clock.now(), caption), "approved")
        self._trigger.kick()
        return approved

    async def reject(self, actor_id: int, item_id: str) -> ReviewItem:
        actor, item = await self._reviewable(actor_id, item_id)
        return await self._store(item.reject(actor.id, self._clock.now()), "rejected")

    async def regenerate(self, actor_id: int, item_id: str) -> ReviewItem:
        actor, item = await self._reviewable(actor_id, item_id)
        item.check_editable()  # before the model runs
        try:
            caption = await self._generator.caption(PostImage(item.post_id, item.post_url, item.image_url))
        except CaptionFailure as exc:
            raise DomainError(
                ErrorCode.CAPTION_GENERATION_FAILED, exc.message, error_type=exc.error_type, item_id=item.id
            ) from None
        return await self._store(item.regenerated(caption.text, actor.id, self._clock.now()), "regenerated")

    async def bulk_from_request(self, body: Any) -> dict[str, Any]:
        fields = validate(events.BULK_REVIEW_SCHEMA, body)
        return await self.bulk(fields["user_id"], fields["action"], fields["item_ids"])

    async def bulk(self, actor_id: int, action: str, item_ids: list[str]) -> dict[str, Any]:
        """Approves (to publish) or rejects each item; each stored at once, so a crash loses no approval."""
        actor = await _actor(self._users, actor_id)
        batch_id = "batch_" + self._tokens.message_id() if action == "approve" else None
        done: list[str] = []
        refused: list[dict[str, Any]] = []
        for item_id in item_ids:
            try:
                _, item = await self._reviewable(actor.id, item_id)
                now = self._clock.now()
                if action == "approve":
                    changed = item.approve(actor.id, now, batch_id=batch_id)
                else:
                    changed = item.reject(actor.id, now)
                await self._store(changed, "approved" if action == "approve" else "rejected")
                done.append(item_id)
            except DomainError as err:
                refused.append({"item_id": item_id, "error_code": err.code.value, "error_message": err.message})
        if batch_id is not None and done:
            counts = {status.value: n for status, n in (await self._reviews.batch_counts(batch_id)).items()}
            await self._outbox.to_user(
                actor.id, events.CAPTION_PUBLISH_PROGRESS, messages.publish_progress(actor.id, batch_id, counts)
            )
            self._trigger.kick()
        key = "approved" if action == "approve" else "rejected"
        return {"batch_id": batch_id if done else None, key: done, "refused": refused}

    async def set_auto_approve_from_request(self, platform_id: int, body: Any) -> dict[str, Any]:
        fields = validate(events.REVIEW_SETTINGS_SCHEMA, body)
        return await self.set_auto_approve(fields["user_id"], platform_id, fields["auto_approve"])

    async def set_auto_approve(self, actor_id: int, platform_id: int, enabled: bool) -> dict[str, Any]:
        actor = await _actor(self._users, actor_id)
        platform = await self._platforms.get(platform_id)
        if platform is None or not can_read(actor, platform.user_id):
            raise DomainError(ErrorCode.NOT_FOUND, "No such platform connection", platform_id=platform_id)
        check_can_review(actor, platform.user_id)
        await self._reviews.set_auto_approve(platform_id, enabled)
        return {"platform_id": platform_id, "auto_approve": enabled}

    async def auto_approve_settings(self, actor_id: int) -> list[dict[str, Any]]:
        """The actor's own platform connections with their auto-approve setting (what the user page shows)."""
        actor = await _actor(self._users, actor_id)
        return [
            {
                "platform_id": platform.id,
                "platform_name": platform.name,
                "platform_type": platform.platform_type.value,
                "auto_approve": await self._reviews.auto_approve(platform.id),
            }
            for platform in await self._platforms.for_user(actor.id)
        ]

    async def _reviewable(self, actor_id: int, item_id: str) -> tuple[User, ReviewItem]:
        actor = await _actor(self._users, actor_id)
        item = await self._reviews.get(item_id)
        if item is None or not can_read(actor, item.user_id):
            raise DomainError(ErrorCode.NOT_FOUND, "No such review item", item_id=item_id)
        check_can_review(actor, item.user_id)
        return actor, item

    async def _store(self, item: ReviewItem, change: str) -> ReviewItem:
        if not await self._reviews.save(item):
            raise DomainError(
                ErrorCode.REVIEW_ITEM_CHANGED, "The caption changed meanwhile: reload it and try again", item_id=item.id
            )
        await self._outbox.to_user(item.user_id, events.REVIEW_ITEM_UPDATED, messages.review_item_updated(item, change))
        return item


async def _actor(users: UserRepository, actor_id: int) -> User:
    actor = await users.get(actor_id)
    if actor is None or not actor.active:
        raise DomainError(ErrorCode.NOT_FOUND, "No such active user", user_id=actor_id)
    return actor


def _numbers(params: Any, *names: str) -> Any:
    """Query strings carry numbers as text: the named ones become ints (or stay, to be refused by validation)."""
    if not isinstance(params, dict):
        return params
    converted = dict(params)
    for name in names:
        value = converted.get(name)
        if isinstance(value, str) and value.isdigit():
            converted[name] = int(value)
    return converted
