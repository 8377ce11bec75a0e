"""Bounded shutdown of background tasks: cancel, wait at most a deadline, and name any task that ignored it."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Awaitable, Iterable
from typing import Any, TypeVar

log = logging.getLogger("vedfolnir.shutdown")

STOP_SECONDS = 5.0
T = TypeVar("T")


def raise_if_cancelled() -> None:
    """Re-raises a cancellation that something inside a loop swallowed.

    Python 3.11's `asyncio.wait_for` returns normally, dropping the cancel, when the cancel lands in the
    same loop iteration as its awaitable finishing (CPython gh-86296, fixed in 3.12); libraries we call
    (health pings, asyncpg, redis-py) use it. The request is still counted by `Task.cancelling()`, so a
    `while True` loop that checks this each round always ends on `cancel()` instead of running forever.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling() > 0:
        raise asyncio.CancelledError


async def stop_tasks(tasks: Iterable[asyncio.Task[Any] | None], what: str, seconds: float = STOP_SECONDS) -> None:
    """Cancels the tasks and waits at most `seconds` for them; one that is still running is logged with its
    stack and left behind, so a shutdown always completes."""
    pending = [task for task in tasks if task is not None and not task.done()]
    for task in pending:
        task.cancel()
    if not pending:
        return
    done, stuck = await asyncio.wait(pending, timeout=seconds)
    for task in done:
        if not task.cancelled():
            task.exception()  # retrieved: a loop that failed while stopping is not "never retrieved"
    for task in stuck:
        log.error(
            "%s: task %s ignored cancel() for %.1fs; left behind:\n%s", what, task.get_name(), seconds, _stack(task)
        )


async def finish_within(step: Awaitable[T], what: str, seconds: float = STOP_SECONDS) -> T | None:
    """Runs a shutdown step for at most `seconds` seconds; past it the step is cancelled and left behind."""
    task = asyncio.ensure_future(step)
    done, _ = await asyncio.wait([task], timeout=seconds)
    if done:
        return task.result()
    log.error("%s did not finish within %.1fs; cancelled and left behind:\n%s", what, seconds, _stack(task))
    await stop_tasks([task], what, seconds=1.0)
    return None


def _stack(task: asyncio.Future[Any]) -> str:
    if not isinstance(task, asyncio.Task):
        return "(not a task)"
    out = io.StringIO()
    task.print_stack(file=out)
    return out.getvalue()
