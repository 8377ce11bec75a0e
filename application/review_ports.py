"""The ports the review queue and publishing need: where items are kept, and how a description reaches a post."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from domain.jobs import CaptionJob, CaptionResult, PostImage
from domain.platforms import PlatformConnection
from domain.review import ReviewItem, ReviewStatus


class ReviewRepository(Protocol):
    async def add(self, item: ReviewItem) -> bool:
        """Stores a new item; False (storing nothing) if the job already has one for that post."""
        ...

    async def get(self, item_id: str) -> ReviewItem | None: ...

    async def find(
        self, owner_id: int | None, statuses: Iterable[ReviewStatus] | None = None, limit: int = 200
    ) -> list[ReviewItem]:
        """Items of one owner (None: everyone's), newest first."""
        ...

    async def save(self, item: ReviewItem) -> bool:
        """Writes the item if the stored one is still at `item.version - 1` (no one changed it meanwhile)."""
        ...

    async def publishable(self, stale_before: float, limit: int) -> list[ReviewItem]:
        """Approved items, and items whose publishing claim is older than `stale_before`, oldest first."""
        ...

    async def batch_counts(self, batch_id: str) -> dict[ReviewStatus, int]: ...

    async def auto_approve(self, platform_id: int) -> bool: ...

    async def set_auto_approve(self, platform_id: int, enabled: bool) -> None: ...


@dataclass(frozen=True, slots=True)
class RemotePost:
    """A post as the platform holds it now: each attachment's description, and what the writer needs to
    change them losing nothing else (for Mastodon, the whole status)."""

    descriptions: dict[str, str | None]
    snapshot: Any = None


class DescriptionWriter(Protocol):
    """Reads and writes the descriptions of one post's images; PlatformUnavailable when it cannot."""

    async def read(self, platform: PlatformConnection, status_id: str) -> RemotePost: ...

    async def write(
        self, platform: PlatformConnection, status_id: str, captions: dict[str, str], remote: RemotePost
    ) -> None:
        """Writes `captions` (media id -> text) in as few requests as the platform allows; `remote` is `read`'s."""
        ...


class PublishTrigger(Protocol):
    def kick(self) -> None:
        """Approved items are waiting: publish them soon; returns at once."""
        ...


class CaptionIntake(Protocol):
    async def __call__(
        self, platform: PlatformConnection, job: CaptionJob, post: PostImage, result: CaptionResult
    ) -> None:
        """Queues a stored caption for review; idempotent per job and post."""
        ...
