"""BudgetQueue: asyncio.Queue's behaviour for the engine (order, waking, cancellation, join), its budget, its memory."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest

from adapters.inbound.outbound_budget import BudgetQueue, OutboundLimits


@dataclass
class Pkt:
    data: str


class Security:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def record(self, kind: str, **fields: Any) -> None:
        self.events.append((kind, fields))


def queue(max_packets: int = 1000, max_chars: int = 10**6, security: Any = None) -> BudgetQueue:
    return BudgetQueue(OutboundLimits(max_packets=max_packets, max_chars=max_chars), security)


async def test_items_come_out_in_order_and_an_empty_queue_holds_no_storage() -> None:
    q = queue()
    assert q.empty() and q.qsize() == 0 and q._items is None
    for text in ("a", "b", "c"):
        await q.put(Pkt(text))
    assert q.qsize() == 3 and q.queued_chars == 3
    assert [q.get_nowait().data for _ in range(3)] == ["a", "b", "c"]
    assert q.empty() and q._items is None and q.queued_chars == 0
    with pytest.raises(asyncio.QueueEmpty):
        q.get_nowait()


async def test_a_waiting_getter_is_woken_by_a_put() -> None:
    q = queue()
    getter = asyncio.ensure_future(q.get())
    await asyncio.sleep(0)
    assert not getter.done()
    q.put_nowait(Pkt("x"))
    assert (await asyncio.wait_for(getter, 1)).data == "x"


async def test_a_getter_cancelled_after_its_wake_up_passes_the_item_to_the_next() -> None:
    q = queue()
    first = asyncio.ensure_future(q.get())
    second = asyncio.ensure_future(q.get())
    await asyncio.sleep(0)
    q.put_nowait(Pkt("only"))  # wakes `first`...
    first.cancel()  # ...which is cancelled before it runs
    assert (await asyncio.wait_for(second, 1)).data == "only"
    assert first.cancelled()
    assert q.empty() and q._getters == []


async def test_join_waits_for_every_item_to_be_done() -> None:
    q = queue()
    await q.join()  # nothing queued: returns at once
    q.put_nowait(Pkt("a"))
    q.put_nowait(Pkt("b"))
    joined = asyncio.ensure_future(q.join())
    q.get_nowait()
    q.task_done()
    await asyncio.sleep(0)
    assert not joined.done()
    q.get_nowait()
    q.task_done()
    await asyncio.wait_for(joined, 1)
    with pytest.raises(ValueError):
        q.task_done()


async def test_past_its_packet_budget_it_drops_the_socket_and_keeps_only_the_stop_signal() -> None:
    security = Security()
    q = queue(max_packets=2, security=security)
    for text in ("a", "b", "c", "d"):
        q.put_nowait(Pkt(text))
    assert q.over and [kind for kind, _ in security.events] == ["slow_consumer"]
    assert q.qsize() == 1 and q.get_nowait() is None  # the writer's stop signal
    q.put_nowait(Pkt("e"))  # a dropped socket takes nothing more
    assert q.empty()


async def test_past_its_character_budget_it_drops_the_socket() -> None:
    q = queue(max_chars=5)
    q.put_nowait(Pkt("abc"))
    q.put_nowait(Pkt("def"))
    assert q.over and q.queued_chars == 0


async def test_the_stop_signal_goes_through_a_full_queue() -> None:
    q = queue(max_packets=1)
    q.put_nowait(Pkt("a"))
    q.put_nowait(None)
    assert q.qsize() == 2 and not q.over
