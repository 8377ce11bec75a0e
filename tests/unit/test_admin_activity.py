"""Deferred admin activity: sent after the caller goes on, in order, bounded, one failure not stopping the rest."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from adapters.outbound.admin_activity import DeferredAdminActivity
from application.outbox import Outbox
from domain import events


class FakeOutbox:
    def __init__(self, fail_on: int | None = None) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.fail_on = fail_on

    async def to_admins(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(0)
        if payload.get("n") == self.fail_on:
            raise RuntimeError("publish failed")
        self.sent.append((event, payload))
        return payload


async def settle(activity: DeferredAdminActivity) -> None:
    while activity._sender is not None:  # noqa: ASYNC110 (the sender task's own flag)
        await asyncio.sleep(0)


async def test_announcements_are_sent_after_the_caller_in_order() -> None:
    outbox = FakeOutbox()
    activity = DeferredAdminActivity(cast(Outbox, outbox))
    for n in range(5):
        activity.announce({"n": n})
    assert outbox.sent == []  # nothing happened inside announce
    await settle(activity)
    assert outbox.sent == [(events.USER_ACTIVITY_UPDATE, {"n": n}) for n in range(5)]


async def test_the_queue_is_bounded() -> None:
    outbox = FakeOutbox()
    activity = DeferredAdminActivity(cast(Outbox, outbox), max_pending=3)
    for n in range(5):
        activity.announce({"n": n})
    await settle(activity)
    assert [p["n"] for _, p in outbox.sent] == [0, 1, 2] and activity.dropped == 2


async def test_a_failed_send_does_not_stop_the_rest() -> None:
    outbox = FakeOutbox(fail_on=1)
    activity = DeferredAdminActivity(cast(Outbox, outbox))
    for n in range(3):
        activity.announce({"n": n})
    await settle(activity)
    assert [p["n"] for _, p in outbox.sent] == [0, 2]
