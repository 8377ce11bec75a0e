"""The demo platform's descriptions, kept in memory: what publishing writes when the posts are the demo's."""

from __future__ import annotations

import asyncio

from application.review_ports import RemotePost
from domain.platforms import PlatformConnection


class DemoDescriptionWriter:
    """A DescriptionWriter for the demo posts: every image starts without a description."""

    def __init__(self, write_delay: float = 0.2) -> None:
        self._write_delay = write_delay
        self.descriptions: dict[tuple[int, str], str] = {}

    async def read(self, platform: PlatformConnection, status_id: str) -> RemotePost:
        """A demo post has one image, whose id is the post's."""
        return RemotePost({status_id: self.descriptions.get((platform.id, status_id))})

    async def write(
        self, platform: PlatformConnection, status_id: str, captions: dict[str, str], remote: RemotePost
    ) -> None:
        if self._write_delay:
            await asyncio.sleep(self._write_delay)
        for media_id, caption in captions.items():
            self.descriptions[(platform.id, media_id)] = caption
