"""In-memory ReviewRepository: the same guarantees as the SQL one (one item per job and post, versioned saves)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from application.port_errors import Conflict
from domain.review import PUBLISH_QUEUE, ReviewItem, ReviewStatus


class InMemoryReviewRepository:
    def __init__(self) -> None:
        self._items: dict[str, ReviewItem] = {}
        self._keys: set[tuple[str, str]] = set()
        self._auto: dict[int, bool] = {}

    async def add(self, item: ReviewItem) -> bool:
        if item.id in self._items:
            raise Conflict(f"a review item with id {item.id!r} exists")
        key = (item.job_id, item.post_id)
        if key in self._keys:
            return False
        self._keys.add(key)
        self._items[item.id] = item  # items are frozen: no copy needed
        return True

    async def get(self, item_id: str) -> ReviewItem | None:
        return self._items.get(item_id)

    async def find(
        self, owner_id: int | None, statuses: Iterable[ReviewStatus] | None = None, limit: int = 200
    ) -> list[ReviewItem]:
        wanted = set(statuses) if statuses is not None else None
        found = [
            item
            for item in self._items.values()
            if (owner_id is None or item.user_id == owner_id) and (wanted is None or item.status in wanted)
        ]
        found.sort(key=lambda item: (item.created_at, item.id), reverse=True)
        return found[:limit]

    async def save(self, item: ReviewItem) -> bool:
        stored = self._items.get(item.id)
        if stored is None or stored.version != item.version - 1:
            return False
        self._items[item.id] = item
        return True

    async def publishable(self, stale_before: float, limit: int) -> list[ReviewItem]:
        found = [
            item
            for item in self._items.values()
            if item.status is ReviewStatus.APPROVED
            or (item.status in PUBLISH_QUEUE and item.claimed_at is not None and item.claimed_at < stale_before)
        ]
        found.sort(key=lambda item: (item.updated_at, item.id))
        return found[:limit]

    async def batch_counts(self, batch_id: str) -> dict[ReviewStatus, int]:
        return dict(Counter(item.status for item in self._items.values() if item.batch_id == batch_id))

    async def auto_approve(self, platform_id: int) -> bool:
        return self._auto.get(platform_id, False)

    async def set_auto_approve(self, platform_id: int, enabled: bool) -> None:
        self._auto[platform_id] = enabled
