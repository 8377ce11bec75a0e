"""Background loops of a serving process: each runs a use case every few seconds and survives its errors."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("vedfolnir.periodic")


async def every(seconds: float, action: Callable[[], Awaitable[object]], name: str, at_start: bool = False) -> None:
    first = True
    while True:
        if not (first and at_start):
            await asyncio.sleep(seconds)
        first = False
        try:
            await action()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed; retrying in %.1f s", name, seconds)
