"""A demo caption generator: paced like a small vision model, deterministic, with an occasional failure."""

from __future__ import annotations

import asyncio
import time
import zlib

from application.ports import CaptionFailure, GeneratedCaption
from domain.jobs import PostImage

_SUBJECTS = (
    "A sunset over the ocean with orange and pink light reflecting on the water",
    "A tabby cat asleep on a windowsill beside a potted fern",
    "A narrow cobblestone street lined with bicycles after rain",
    "A bowl of ramen with a soft-boiled egg, scallions and nori",
    "Snow-covered pine trees on a mountain slope under a clear sky",
    "A child flying a red kite on a windy beach",
    "Close-up of dew drops on a spider web at dawn",
    "A crowded farmers' market stall piled with tomatoes and peppers",
)


class DemoCaptionGenerator:
    def __init__(self, seconds_per_caption: float = 2.0, fail_every: int = 12) -> None:
        self._seconds = seconds_per_caption
        self._fail_every = fail_every

    @property
    def seconds_per_post_estimate(self) -> float:
        return self._seconds

    async def caption(self, post: PostImage) -> GeneratedCaption:
        started = time.perf_counter()
        if self._seconds:
            await asyncio.sleep(self._seconds)
        digest = zlib.crc32(post.post_id.encode())
        number = int(post.post_id.rsplit("_", 1)[-1]) if post.post_id[-1:].isdigit() else digest
        if self._fail_every and number % self._fail_every == 0:
            raise CaptionFailure("OLLAMA_CONNECTION_ERROR", "Failed to connect to Ollama service (demo)", True)
        return GeneratedCaption(
            text=_SUBJECTS[digest % len(_SUBJECTS)] + ".",
            confidence_score=round(0.80 + (digest % 19) / 100, 2),
            processing_time=time.perf_counter() - started,
        )
