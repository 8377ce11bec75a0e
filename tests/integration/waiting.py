"""Waiting on conditions instead of fixed sleeps."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable

POLL_SECONDS = 0.02


async def eventually(
    check: Callable[[], bool | Awaitable[bool]],
    *,
    within: float = 5.0,
    what: str = "the condition",
    every: float = POLL_SECONDS,
) -> None:
    """Returns as soon as `check()` is true; fails naming `what` once `within` seconds have passed.

    Polls (`every` seconds): the conditions waited on here, a socket gone, a row stored, a count
    reached, have no event of their own to await.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if loop.time() >= deadline:
            raise AssertionError(f"not {what} within {within} s")
        await asyncio.sleep(every)
