"""Shutdown is bounded: a loop ends on cancel() even when a cancel is swallowed inside it, and a task that
ignores cancel() entirely is logged and left behind instead of hanging the shutdown."""

from __future__ import annotations

import asyncio
import logging

import pytest

from adapters.inbound.periodic import every
from adapters.outbound.memory.publish_loop import InProcessPublishLoop
from adapters.stopping import finish_within, stop_tasks


async def _ended(task: asyncio.Task[None], within: float = 2.0) -> bool:
    done, _ = await asyncio.wait([task], timeout=within)
    return bool(done)


async def test_a_periodic_loop_ends_when_wait_for_swallows_its_cancel() -> None:
    """The teardown hang: on Python 3.11 `asyncio.wait_for` returns normally, dropping the cancel, when the
    cancel lands in the same loop iteration as its awaitable finishing (CPython gh-86296). Reproduced here
    deterministically: the awaited future is resolved and the task cancelled in one step."""
    loop = asyncio.get_running_loop()
    awaited: list[asyncio.Future[None]] = []
    started = asyncio.Event()

    async def ping() -> None:  # a health probe's `wait_for(redis.ping(), 1)`, for instance
        fut: asyncio.Future[None] = loop.create_future()
        awaited.append(fut)
        started.set()
        await asyncio.wait_for(fut, 10)

    task = loop.create_task(every(0.01, ping, "probe", at_start=True))
    await asyncio.wait_for(started.wait(), 2)
    awaited[0].set_result(None)
    task.cancel()  # same iteration: wait_for sees its future done and returns instead of raising
    assert await _ended(task), "the loop kept running after cancel()"
    assert task.cancelled()


async def test_a_periodic_loop_ends_when_its_action_swallows_the_cancel() -> None:
    swallowed = asyncio.Event()

    async def stubborn() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            swallowed.set()  # a library that eats CancelledError and returns

    task = asyncio.get_running_loop().create_task(every(0.01, stubborn, "stubborn", at_start=True))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    task.cancel()
    assert await _ended(task)
    assert swallowed.is_set()


async def test_the_publish_loop_closes_when_a_kick_and_the_cancel_coincide() -> None:
    publish = InProcessPublishLoop()
    rounds = asyncio.Event()

    async def drain(_take_over: bool) -> int:
        rounds.set()
        return 0

    publish.start(drain, 10.0, take_over_claims=False)
    await asyncio.wait_for(rounds.wait(), 2)
    await asyncio.sleep(0)  # the loop now waits for a kick
    publish.kick()  # the wake-up and the cancel below land in one iteration: old wait_for dropped the cancel
    closing = asyncio.get_running_loop().create_task(publish.close())
    assert await _ended(closing, within=3.0), "the publish loop kept running after close()"


async def test_a_task_that_ignores_cancel_is_logged_and_left_behind(caplog: pytest.LogCaptureFixture) -> None:
    async def deaf() -> None:
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                pass

    task = asyncio.get_running_loop().create_task(deaf(), name="deaf-loop")
    await asyncio.sleep(0)
    with caplog.at_level(logging.ERROR, logger="vedfolnir.shutdown"):
        await asyncio.wait_for(stop_tasks([task], "test loops", seconds=0.2), 2)
    assert not task.done()
    assert "deaf-loop" in caplog.text and "ignored cancel()" in caplog.text
    task.cancel()  # let the test loop close: this one still ignores it, so stop it the hard way
    task.get_coro().close()  # type: ignore[union-attr]


async def test_a_shutdown_step_that_never_finishes_is_bounded(caplog: pytest.LogCaptureFixture) -> None:
    never = asyncio.Event()
    with caplog.at_level(logging.ERROR, logger="vedfolnir.shutdown"):
        assert await asyncio.wait_for(finish_within(never.wait(), "a stuck close", seconds=0.2), 3) is None
    assert "a stuck close did not finish" in caplog.text
