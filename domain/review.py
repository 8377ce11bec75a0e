"""Review items: a generated caption awaiting a person's verdict, and the way it reaches the platform."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from domain.errors import DomainError, ErrorCode
from domain.identity import Role, User
from domain.jobs import PostImage
from domain.platforms import PlatformConnection, PlatformType


class ReviewStatus(StrEnum):
    PENDING = "pending"  # awaits a reviewer
    APPROVED = "approved"  # approved: queued for publishing
    PUBLISHING = "publishing"  # a publisher claimed it and is writing it now
    PUBLISHED = "published"  # the description is on the platform
    FAILED = "failed"  # publishing failed; approve again to retry
    CONFLICT = "conflict"  # a person wrote a description meanwhile: ours was not written
    REJECTED = "rejected"


# Alt text limits of the platforms: Mastodon refuses descriptions over 1,500 characters (MediaAttachment's
# MAX_DESCRIPTION_LENGTH); Pixelfed over its config 'pixelfed.max_altext_length', which defaults to 1,000
# (config/pixelfed.php: env('PF_MEDIA_MAX_ALTTEXT_LENGTH', 1000); its media update validates `max:` against it).
DESCRIPTION_LIMITS = {PlatformType.MASTODON: 1500, PlatformType.PIXELFED: 1000}

EDITABLE = frozenset({ReviewStatus.PENDING, ReviewStatus.REJECTED, ReviewStatus.FAILED, ReviewStatus.CONFLICT})
APPROVABLE = EDITABLE
REJECTABLE = frozenset({ReviewStatus.PENDING, ReviewStatus.APPROVED, ReviewStatus.FAILED, ReviewStatus.CONFLICT})
PUBLISH_QUEUE = frozenset({ReviewStatus.APPROVED, ReviewStatus.PUBLISHING})


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """One image's caption under review. Every change returns a new item with `version` one higher."""

    id: str
    user_id: int  # the owner of the platform connection
    platform_id: int
    platform_type: PlatformType
    job_id: str
    post_id: str
    post_url: str
    image_url: str
    status_id: str  # the platform's status (post) holding the image
    media_id: str  # the attachment whose description we write
    original_description: str | None  # what the platform had when the caption was generated
    generated_text: str
    caption: str  # the text that will be published (the generated text, or a reviewer's edit)
    status: ReviewStatus
    created_at: float
    updated_at: float
    version: int = 1
    reviewed_by: int | None = None
    batch_id: str | None = None
    claimed_by: str | None = None
    claimed_at: float | None = None
    attempts: int = 0
    error_type: str | None = None
    error_message: str | None = None
    retry_possible: bool | None = None
    published_at: float | None = None

    @property
    def limit(self) -> int:
        return DESCRIPTION_LIMITS[self.platform_type]

    @property
    def edited(self) -> bool:
        return self.caption != self.generated_text

    def edit(self, caption: str, reviewer: int, now: float) -> ReviewItem:
        self._require(EDITABLE, "edited")
        return self._next(now, caption=self._checked(caption), status=ReviewStatus.PENDING, reviewed_by=reviewer)

    def approve(self, reviewer: int, now: float, caption: str | None = None, batch_id: str | None = None) -> ReviewItem:
        self._require(APPROVABLE, "approved")
        text = self._checked(caption if caption is not None else self.caption)
        return self._next(
            now,
            caption=text,
            status=ReviewStatus.APPROVED,
            reviewed_by=reviewer,
            batch_id=batch_id,
            error_type=None,
            error_message=None,
            retry_possible=None,
        )

    def reject(self, reviewer: int, now: float) -> ReviewItem:
        self._require(REJECTABLE, "rejected")
        return self._next(now, status=ReviewStatus.REJECTED, reviewed_by=reviewer, batch_id=None)

    def check_editable(self) -> None:
        """Refuses (INVALID_REVIEW_STATE) unless the item may be edited or regenerated now."""
        self._require(EDITABLE, "edited")

    def regenerated(self, caption: str, reviewer: int, now: float) -> ReviewItem:
        """A fresh caption from the model replaces both the generated text and any edit."""
        self._require(EDITABLE, "regenerated")
        text = caption.strip()[: self.limit]
        return self._next(
            now, generated_text=text, caption=text, status=ReviewStatus.PENDING, reviewed_by=reviewer, batch_id=None
        )

    def claim(self, owner: str, now: float) -> ReviewItem:
        """A publisher takes the item; a stale claim (its publisher died) may be taken over."""
        self._require(PUBLISH_QUEUE, "published")
        return self._next(
            now, status=ReviewStatus.PUBLISHING, claimed_by=owner, claimed_at=now, attempts=self.attempts + 1
        )

    def published(self, now: float) -> ReviewItem:
        self._require(frozenset({ReviewStatus.PUBLISHING}), "marked published")
        return self._next(now, status=ReviewStatus.PUBLISHED, published_at=now, claimed_by=None, claimed_at=None)

    def failed(self, error_type: str, message: str, retry_possible: bool, now: float) -> ReviewItem:
        self._require(frozenset({ReviewStatus.PUBLISHING}), "marked failed")
        return self._next(
            now,
            status=ReviewStatus.FAILED,
            error_type=error_type,
            error_message=message,
            retry_possible=retry_possible,
            claimed_by=None,
            claimed_at=None,
        )

    def conflicted(self, now: float) -> ReviewItem:
        self._require(frozenset({ReviewStatus.PUBLISHING}), "marked conflicting")
        return self._next(
            now,
            status=ReviewStatus.CONFLICT,
            error_type="DESCRIPTION_CHANGED",
            error_message="Someone wrote a description on the platform meanwhile; it was kept",
            retry_possible=False,
            claimed_by=None,
            claimed_at=None,
        )

    def _checked(self, caption: str) -> str:
        text = caption.strip()
        if not text:
            raise DomainError(ErrorCode.INVALID_MESSAGE, "A caption cannot be empty", field="caption")
        if len(text) > self.limit:
            raise DomainError(
                ErrorCode.INVALID_MESSAGE,
                f"{self.platform_type.value.capitalize()} allows at most {self.limit} characters of alt text",
                field="caption",
                limit=self.limit,
                length=len(text),
            )
        return text

    def _next(self, now: float, **changes: Any) -> ReviewItem:
        return replace(self, version=self.version + 1, updated_at=now, **changes)

    def _require(self, allowed: frozenset[ReviewStatus], action: str) -> None:
        if self.status not in allowed:
            raise DomainError(
                ErrorCode.INVALID_REVIEW_STATE,
                f"A {self.status.value} caption cannot be {action}",
                item_id=self.id,
                review_status=self.status.value,
            )


def new_review_item(
    item_id: str, platform: PlatformConnection, job_id: str, post: PostImage, caption: str, now: float
) -> ReviewItem:
    """A pending item for a generated caption (cut to the platform's limit); the post must say where it goes."""
    if post.status_id is None or post.media_id is None:
        raise ValueError("a post without status and media ids cannot be published")
    text = caption.strip()[: DESCRIPTION_LIMITS[platform.platform_type]]
    return ReviewItem(
        id=item_id,
        user_id=platform.user_id,
        platform_id=platform.id,
        platform_type=platform.platform_type,
        job_id=job_id,
        post_id=post.post_id,
        post_url=post.post_url,
        image_url=post.image_url,
        status_id=post.status_id,
        media_id=post.media_id,
        original_description=post.description,
        generated_text=text,
        caption=text,
        status=ReviewStatus.PENDING,
        created_at=now,
        updated_at=now,
    )


class Verdict(StrEnum):
    """What publishing should do, given what the platform holds now."""

    WRITE = "write"
    ALREADY_THERE = "already_there"  # written before (a crash after the write): nothing to do
    KEEP_THEIRS = "keep_theirs"  # a person wrote a description meanwhile: never overwrite it


def publish_verdict(item: ReviewItem, current: str | None) -> Verdict:
    now = (current or "").strip()
    if now == item.caption:
        return Verdict.ALREADY_THERE
    if now and now != (item.original_description or "").strip():
        return Verdict.KEEP_THEIRS
    return Verdict.WRITE


def can_read(actor: User, owner_id: int) -> bool:
    return actor.is_admin or actor.id == owner_id


def check_can_review(actor: User, owner_id: int) -> None:
    """Admins review everything; moderators and reviewers the captions of their own platforms; viewers nothing."""
    if actor.role is Role.VIEWER:
        raise DomainError(ErrorCode.AUTH_INSUFFICIENT_PRIVILEGES, "Viewers may read captions but not review them")
    if not actor.is_admin and actor.id != owner_id:
        raise DomainError(ErrorCode.AUTH_INSUFFICIENT_PRIVILEGES, "You may only review captions of your own platforms")
