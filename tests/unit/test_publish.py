"""Publishing with the in-memory twins: a crash after the platform write never leads to a second write."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from adapters.outbound.memory.platforms import InMemoryPlatformRepository
from adapters.outbound.memory.publisher import RecordingPublisher, RecordingTransport
from adapters.outbound.memory.reviews import InMemoryReviewRepository
from adapters.outbound.memory.users import InMemoryUserRepository
from application.outbox import Outbox
from application.ports import PlatformUnavailable
from application.publish import PublishCaptions
from application.review_ports import RemotePost
from domain.identity import Role
from domain.jobs import PostImage
from domain.platforms import PlatformConnection, PlatformType
from domain.review import ReviewItem, ReviewStatus, new_review_item


class Clock:
    def __init__(self) -> None:
        self.t = 1_700_000_000.0

    def now(self) -> float:
        self.t += 0.001
        return self.t


class Tokens:
    n = 0

    def message_id(self) -> str:
        Tokens.n += 1
        return f"m{Tokens.n}"

    def secret(self) -> str:
        return "s"


class Crash(BaseException):
    """The process dies: nothing after the raise runs (not an Exception: no handler catches it)."""


@dataclass
class Platform:
    descriptions: dict[str, str | None] = field(default_factory=dict)
    writes: list[str] = field(default_factory=list)
    crash_after_write: bool = False
    fail_reads: int = 0

    async def read(self, platform: PlatformConnection, status_id: str) -> RemotePost:
        """Post s<n> holds image m<n>."""
        if self.fail_reads:
            self.fail_reads -= 1
            raise PlatformUnavailable("HTTP 503 after 4 attempts")
        media_id = "m" + status_id.removeprefix("s")
        return RemotePost({media_id: self.descriptions.get(media_id)})

    async def write(
        self, platform: PlatformConnection, status_id: str, captions: dict[str, str], remote: RemotePost
    ) -> None:
        for media_id, caption in captions.items():
            self.descriptions[media_id] = caption
            self.writes.append(media_id)
        if self.crash_after_write:
            raise Crash


async def setup() -> tuple[InMemoryReviewRepository, Platform, RecordingPublisher, PublishCaptions, list[ReviewItem]]:
    users = InMemoryUserRepository()
    owner = await users.add("alice", Role.REVIEWER)
    platforms = InMemoryPlatformRepository()
    platform = await platforms.add(owner.id, "mine", PlatformType.MASTODON, "https://example.social")
    reviews = InMemoryReviewRepository()
    clock = Clock()
    approved = []
    for n in range(3):
        post = PostImage(
            f"s{n}", f"https://example.social/@a/s{n}", f"https://example.social/m{n}.png", f"s{n}", f"m{n}"
        )
        item = new_review_item(f"r{n}", platform, "j1", post, f"Caption {n}.", clock.now())
        await reviews.add(item)
        item = item.approve(owner.id, clock.now(), batch_id="b1")
        await reviews.save(item)
        approved.append(item)
    remote = Platform()
    publisher = RecordingPublisher()
    outbox = Outbox(publisher, RecordingTransport(), clock, Tokens())
    publish = PublishCaptions(reviews, users, platforms, remote, outbox, clock, "node-a", claim_seconds=300)
    return reviews, remote, publisher, publish, approved


def test_a_crash_between_the_write_and_its_record_does_not_write_twice() -> None:
    async def scenario() -> None:
        reviews, remote, publisher, publish, _ = await setup()
        remote.crash_after_write = True
        try:
            await publish()
        except Crash:
            pass
        assert remote.writes == ["m0"]
        assert (await reviews.get("r0")).status is ReviewStatus.PUBLISHING  # the outcome was never stored
        remote.crash_after_write = False
        # The restarted process takes over its claims: r0 is re-read (already ours), the others written once.
        assert await publish(True) == 3
        assert remote.writes == ["m0", "m1", "m2"]
        assert {i.status for i in await reviews.find(None)} == {ReviewStatus.PUBLISHED}
        published = {p["item_id"]: p["already_published"] for p in publisher.events("caption_published")}
        assert published == {"r0": True, "r1": False, "r2": False}
        progress = publisher.events("caption_publish_progress")
        assert [p["remaining"] for p in progress] == [2, 1, 0]
        assert {a["activity_type"] for a in publisher.events("user_activity_update")} == {"caption_published"}

    asyncio.run(scenario())


def test_a_fresh_claim_of_another_publisher_is_left_alone_until_stale() -> None:
    async def scenario() -> None:
        reviews, remote, _, publish, items = await setup()
        claimed = items[0].claim("node-b", 1_700_000_000.5)
        assert await reviews.save(claimed)
        assert await publish() == 2  # r0 belongs to node-b, whose claim is not stale
        assert (await reviews.get("r0")).claimed_by == "node-b" and remote.writes == ["m1", "m2"]

    asyncio.run(scenario())


def test_an_unreachable_platform_fails_the_item_retryably_and_a_person_wins_a_conflict() -> None:
    async def scenario() -> None:
        reviews, remote, publisher, publish, _ = await setup()
        remote.fail_reads = 1
        remote.descriptions["m2"] = "Written by hand."
        await publish()
        states = {i.id: i for i in await reviews.find(None)}
        assert states["r0"].status is ReviewStatus.FAILED and states["r0"].retry_possible is True
        assert states["r1"].status is ReviewStatus.PUBLISHED
        assert states["r2"].status is ReviewStatus.CONFLICT and remote.descriptions["m2"] == "Written by hand."
        assert remote.writes == ["m1"]
        failures = {p["item_id"]: p["retry_possible"] for p in publisher.events("caption_publish_failed")}
        assert failures == {"r0": True, "r2": False}

    asyncio.run(scenario())


def test_an_image_gone_from_its_post_fails_alone() -> None:
    async def scenario() -> None:
        reviews, remote, _, publish, items = await setup()
        platform = PlatformConnection(
            items[0].platform_id, items[0].user_id, "mine", PlatformType.MASTODON, "https://x"
        )
        post = PostImage("s0:m9", "https://example.social/@a/s0", "https://example.social/m9.png", "s0", "m9")
        gone = new_review_item("r9", platform, "j1", post, "Caption 9.", 1_700_000_000.0)
        await reviews.add(gone)
        await reviews.save(gone.approve(items[0].user_id, 1_700_000_000.0))
        assert await publish() == 4
        states = {i.id: i for i in await reviews.find(None)}
        assert states["r9"].status is ReviewStatus.FAILED and states["r9"].retry_possible is False
        assert states["r0"].status is ReviewStatus.PUBLISHED and remote.writes == ["m0", "m1", "m2"]

    asyncio.run(scenario())
