"""A demo platform: a fixed, deterministic set of posts whose images lack alt text, served in pages."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from application.ports import PostPage
from domain.jobs import PostImage
from domain.platforms import PlatformConnection


class DemoPostSource:
    def __init__(self, posts_per_account: int = 25, page_size: int = 10, page_delay: float = 0.2) -> None:
        self._count = posts_per_account
        self._page_size = page_size
        self._page_delay = page_delay

    async def pages(
        self, platform: PlatformConnection, limit: int | None, include_described: bool = False
    ) -> AsyncIterator[PostPage]:
        """Every demo image lacks a description, so `include_described` changes nothing here."""
        total = min(self._count, limit) if limit else self._count
        base = platform.instance_url.rstrip("/")
        for start in range(0, total, self._page_size):
            if self._page_delay:
                await asyncio.sleep(self._page_delay)
            posts = [
                PostImage(
                    post_id=f"post_{platform.id}_{n:04d}",
                    post_url=f"{base}/p/{platform.id}{n:04d}",
                    image_url=f"{base}/storage/m/{platform.id}{n:04d}.jpg",
                    status_id=f"{platform.id}{n:04d}",
                    media_id=f"{platform.id}{n:04d}",
                )
                for n in range(start + 1, min(start + self._page_size, total) + 1)
            ]
            yield PostPage(posts=posts, items_seen=min(start + self._page_size, total), items_total=total)

    async def verify(self, platform: PlatformConnection) -> None:
        """The demo instance is always there and accepts any token."""
