"""The demo platform's descriptions, kept in memory: what publishing writes when the posts are the demo's."""

from __future__ import annotations

import asyncio

from application.review_ports import RemoteMedia
from domain.platforms import PlatformConnection
from domain.review import ReviewItem


class DemoDescriptionWriter:
    """A DescriptionWriter for the demo posts: every image starts without a description."""

    def __init__(self, write_delay: float = 0.2) -> None:
        self._write_delay = write_delay
        self.descriptions: dict[tuple[int, str], str] = {}

    async def read(self, platform: PlatformConnection, item: ReviewItem) -> RemoteMedia:
        return RemoteMedia(self.descriptions.get((platform.id, item.media_id)))

    async def write(self, platform: PlatformConnection, item: ReviewItem, remote: RemoteMedia) -> None:
        if self._write_delay:
            await asyncio.sleep(self._write_delay)
        self.descriptions[(platform.id, item.media_id)] = item.caption
