"""ReviewRepository contract, run against every backend."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from application.port_errors import Conflict
from domain.jobs import PostImage
from domain.platforms import PlatformConnection, PlatformType
from domain.review import ReviewItem, ReviewStatus, new_review_item

if TYPE_CHECKING:
    from conftest import Backend

T0 = 1_700_000_000.25
PIXELFED = PlatformConnection(3, 7, "pix", PlatformType.PIXELFED, "https://pix.example")


def _item(item_id: str, post_id: str = "p1", job_id: str = "j1", at: float = T0, user_id: int = 7) -> ReviewItem:
    post = PostImage(post_id, f"https://pix.example/p/{post_id}", f"https://pix.example/i/{post_id}.jpg", "s1", "m1")
    return new_review_item(item_id, replace(PIXELFED, user_id=user_id), job_id, post, "A cat on a mat", at)


async def test_add_then_get_round_trips_every_field(backend: Backend) -> None:
    item = replace(
        _item("r1"),
        original_description="old words",
        caption="An edited caption",
        status=ReviewStatus.FAILED,
        version=4,
        reviewed_by=9,
        batch_id="batch_1",
        claimed_by=None,
        claimed_at=T0 + 2,
        attempts=2,
        error_type="PLATFORM_CONNECTION_ERROR",
        error_message="HTTP 503",
        retry_possible=True,
        published_at=T0 + 3,
        updated_at=T0 + 4,
    )
    assert await backend.reviews.add(item)
    assert await backend.reviews.get("r1") == item
    assert await backend.reviews.get("nope") is None


async def test_one_item_per_job_and_post(backend: Backend) -> None:
    assert await backend.reviews.add(_item("r1"))
    assert not await backend.reviews.add(_item("r2"))  # the same post of the same job: a restarted job's intake
    assert await backend.reviews.get("r2") is None
    assert await backend.reviews.add(_item("r3", job_id="j2"))  # a later job may caption it again
    with pytest.raises(Conflict):
        await backend.reviews.add(_item("r1", post_id="p9"))


async def test_save_needs_the_previous_version(backend: Backend) -> None:
    item = _item("r1")
    await backend.reviews.add(item)
    edited = item.edit("A dog", reviewer=7, now=T0 + 1)
    assert await backend.reviews.save(edited)
    assert not await backend.reviews.save(item.approve(7, T0 + 2))  # based on the old version: refused
    assert (await backend.reviews.get("r1")) == edited
    approved = edited.approve(7, T0 + 3, batch_id="b1")
    assert await backend.reviews.save(approved)
    assert not await backend.reviews.save(approved)  # the same version twice: the second is refused
    assert not await backend.reviews.save(_item("ghost").edit("x", 1, T0))


async def test_find_filters_by_owner_and_status_newest_first(backend: Backend) -> None:
    a = _item("a", "p1", at=T0)
    b = _item("b", "p2", at=T0 + 1)
    c = _item("c", "p3", at=T0 + 2, user_id=8)
    for item in (a, b, c):
        await backend.reviews.add(item)
    await backend.reviews.save(b.reject(7, T0 + 5))
    assert [i.id for i in await backend.reviews.find(7)] == ["b", "a"]
    assert [i.id for i in await backend.reviews.find(None)] == ["c", "b", "a"]
    assert [i.id for i in await backend.reviews.find(7, [ReviewStatus.PENDING])] == ["a"]
    assert [i.id for i in await backend.reviews.find(None, [ReviewStatus.PENDING], limit=1)] == ["c"]


async def test_publishable_is_approved_items_and_stale_claims_oldest_first(backend: Backend) -> None:
    items = [_item(f"r{n}", f"p{n}", at=T0 + n) for n in range(4)]
    for item in items:
        await backend.reviews.add(item)
    first = items[0].approve(7, T0 + 10)
    second = items[1].approve(7, T0 + 11)
    fresh = items[2].approve(7, T0 + 12)
    old = items[3].approve(7, T0 + 1)
    for item in (first, second, fresh, old):
        assert await backend.reviews.save(item)
    assert await backend.reviews.save(fresh.claim("node-a", T0 + 13))
    assert await backend.reviews.save(old.claim("node-b", T0 + 2))
    waiting = await backend.reviews.publishable(stale_before=T0 + 5, limit=10)
    assert [i.id for i in waiting] == ["r3", "r0", "r1"]
    assert [i.id for i in await backend.reviews.publishable(stale_before=T0 + 5, limit=1)] == ["r3"]
    everything = await backend.reviews.publishable(stale_before=T0 + 100, limit=10)
    assert {i.id for i in everything} == {"r0", "r1", "r2", "r3"}


async def test_batch_counts(backend: Backend) -> None:
    items = [_item(f"r{n}", f"p{n}") for n in range(3)]
    for item in items:
        await backend.reviews.add(item)
    approved = [item.approve(7, T0 + 1, batch_id="b1") for item in items]
    for item in approved:
        await backend.reviews.save(item)
    claimed = approved[0].claim("n", T0 + 2)
    assert await backend.reviews.save(claimed)
    assert await backend.reviews.save(claimed.published(T0 + 3))
    assert await backend.reviews.batch_counts("b1") == {ReviewStatus.APPROVED: 2, ReviewStatus.PUBLISHED: 1}
    assert await backend.reviews.batch_counts("other") == {}


async def test_auto_approve_defaults_off_and_is_kept_per_platform(backend: Backend) -> None:
    assert not await backend.reviews.auto_approve(3)
    await backend.reviews.set_auto_approve(3, True)
    await backend.reviews.set_auto_approve(3, True)
    assert await backend.reviews.auto_approve(3) and not await backend.reviews.auto_approve(4)
    await backend.reviews.set_auto_approve(3, False)
    assert not await backend.reviews.auto_approve(3)
