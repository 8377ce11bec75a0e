"""Background loops of a serving process: each runs a use case every few seconds and survives its errors."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from adapters.stopping import raise_if_cancelled

log = logging.getLogger("vedfolnir.periodic")


async def every(seconds: float, action: Callable[[], Awaitable[object]], name: str, at_start: bool = False) -> None:
    first = True
    while True:
        raise_if_cancelled()  # a cancel swallowed inside `action` (see adapters/stopping.py) still ends the loop
        if not (first and at_start):
            await asyncio.sleep(seconds)
        first = False
        try:
            await action()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed; retrying in %.1f s", name, seconds)
