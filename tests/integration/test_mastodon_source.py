"""MastodonPostSource against a fake Mastodon instance on 127.0.0.1: paging, filtering, retries, refusals."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import aiohttp
import pytest

from adapters.outbound.platforms.client_api import retry_after_seconds
from adapters.outbound.platforms.mastodon import MastodonPostSource
from application.ports import PlatformUnavailable, PostPage
from domain.platforms import PlatformConnection, PlatformType
from tests.integration.fakes import unused_port
from tests.integration.fakes.mastodon import FakeMastodon


@pytest.fixture
async def fake() -> AsyncIterator[FakeMastodon]:
    server = FakeMastodon()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def platform(url: str) -> PlatformConnection:
    return PlatformConnection(1, 7, "mine", PlatformType.MASTODON, url)


def source(
    http: aiohttp.ClientSession,
    token: str = "good-token",
    page_size: int = 2,
    max_retries: int = 3,
    max_retry_after: float = 30.0,
    timeout: float = 1.0,
) -> MastodonPostSource:
    async def token_for(_: PlatformConnection) -> str:
        return token

    return MastodonPostSource(http, token_for, page_size, max_retries, max_retry_after, timeout, backoff=0.01)


async def collect(src: MastodonPostSource, url: str, limit: int | None = None) -> list[PostPage]:
    return [page async for page in src.pages(platform(url), limit)]


async def test_pages_follow_the_link_header(fake: FakeMastodon, http: aiohttp.ClientSession) -> None:
    for _ in range(5):
        fake.add_status([None])
    pages = await collect(source(http), fake.base_url)
    assert [len(page.posts) for page in pages] == [2, 2, 1]
    assert [post.post_id for page in pages for post in page.posts] == ["1004", "1003", "1002", "1001", "1000"]
    # progress against verify_credentials' statuses_count: statuses examined of the account's five
    assert [(page.items_seen, page.items_total) for page in pages] == [(2, 5), (4, 5), (5, 5)]
    first = pages[0].posts[0]
    assert first.post_url == f"{fake.base_url}/@someone/1004"
    assert first.image_url == f"{fake.base_url}/media/1004-0.png"
    statuses = fake.hits("/api/v1/accounts/109/statuses")
    assert [seen.query.get("max_id") for seen in statuses] == [None, "1003", "1001", "1000"]
    assert all(seen.headers["Authorization"] == "Bearer good-token" for seen in fake.seen)


async def test_pages_by_max_id_without_a_link_header(fake: FakeMastodon, http: aiohttp.ClientSession) -> None:
    fake.link_headers = False
    for _ in range(3):
        fake.add_status([None])
    pages = await collect(source(http), fake.base_url)
    assert [post.post_id for page in pages for post in page.posts] == ["1002", "1001", "1000"]
    statuses = fake.hits("/api/v1/accounts/109/statuses")
    assert [seen.query.get("max_id") for seen in statuses] == [None, "1001", "1000"]


async def test_only_undescribed_images_of_own_posts(fake: FakeMastodon, http: aiohttp.ClientSession) -> None:
    fake.add_status([None, "A dog", ""])  # two of three images lack alt text
    fake.add_status(["Described"])
    fake.add_status([None], reblog=True)
    fake.add_status([None], media_type="video")
    fake.add_status(["  "])  # whitespace is no description
    posts = [post for page in await collect(source(http, page_size=10), fake.base_url) for post in page.posts]
    assert [post.post_id for post in posts] == ["1004", "1000:10000", "1000:10002"]
    assert posts[1].image_url.endswith("/media/1000-0.png")
    assert posts[2].image_url.endswith("/media/1000-2.png")


async def test_reprocessing_includes_described_images_but_still_no_reblogs(
    fake: FakeMastodon, http: aiohttp.ClientSession
) -> None:
    fake.add_status([None, "A dog"])
    fake.add_status(["Described"])
    fake.add_status(["Shared"], reblog=True)
    src = source(http, page_size=10)
    posts = [
        post async for page in src.pages(platform(fake.base_url), None, include_described=True) for post in page.posts
    ]
    assert [post.post_id for post in posts] == ["1001", "1000:10000", "1000:10001"]


async def test_limit_stops_paging(fake: FakeMastodon, http: aiohttp.ClientSession) -> None:
    for _ in range(10):
        fake.add_status([None])
    pages = await collect(source(http), fake.base_url, limit=3)
    assert [len(page.posts) for page in pages] == [2, 1]
    assert len(fake.hits("/api/v1/accounts/109/statuses")) == 2


async def test_429_waits_for_retry_after(fake: FakeMastodon, http: aiohttp.ClientSession) -> None:
    fake.add_status([None])
    fake.failures["statuses"] = [429]
    fake.retry_after = "1"
    started = time.monotonic()
    pages = await collect(source(http), fake.base_url)
    assert [post.post_id for page in pages for post in page.posts] == ["1000"]
    first, second = fake.hits("/api/v1/accounts/109/statuses")[:2]
    assert second.at - first.at >= 0.95
    assert time.monotonic() - started < 3


async def test_a_retry_after_beyond_the_cap_gives_up_at_once(fake: FakeMastodon, http: aiohttp.ClientSession) -> None:
    fake.failures["statuses"] = [429]
    fake.retry_after = "300"
    with pytest.raises(PlatformUnavailable) as caught:
        await collect(source(http, max_retry_after=5.0), fake.base_url)
    assert caught.value.retry_possible
    assert len(fake.hits("/api/v1/accounts/109/statuses")) == 1


async def test_5xx_is_retried_then_succeeds(fake: FakeMastodon, http: aiohttp.ClientSession) -> None:
    fake.add_status([None])
    fake.failures["verify"] = [502]
    fake.failures["statuses"] = [500, 503]
    pages = await collect(source(http), fake.base_url)
    assert [post.post_id for page in pages for post in page.posts] == ["1000"]
    assert len(fake.hits("/api/v1/accounts/verify_credentials")) == 2


async def test_persistent_5xx_is_retryable_unavailability(fake: FakeMastodon, http: aiohttp.ClientSession) -> None:
    fake.failures["statuses"] = [500] * 10
    with pytest.raises(PlatformUnavailable) as caught:
        await collect(source(http, max_retries=2), fake.base_url)
    assert caught.value.retry_possible
    assert len(fake.hits("/api/v1/accounts/109/statuses")) == 3


async def test_a_slow_instance_times_out_and_is_retryable(fake: FakeMastodon, http: aiohttp.ClientSession) -> None:
    fake.delay = 0.5
    with pytest.raises(PlatformUnavailable) as caught:
        await collect(source(http, timeout=0.1, max_retries=1), fake.base_url)
    assert caught.value.retry_possible
    assert "timed out" in caught.value.message


async def test_a_refused_token_is_not_retryable(fake: FakeMastodon, http: aiohttp.ClientSession) -> None:
    with pytest.raises(PlatformUnavailable) as caught:
        await collect(source(http, token="wrong"), fake.base_url)
    assert not caught.value.retry_possible
    assert len(fake.seen) == 1
    assert "wrong" not in caught.value.message


async def test_nothing_listening_is_retryable(http: aiohttp.ClientSession) -> None:
    with pytest.raises(PlatformUnavailable) as caught:
        await collect(source(http, max_retries=1), f"http://127.0.0.1:{unused_port()}")
    assert caught.value.retry_possible


async def test_an_owned_session_is_created_and_closed(fake: FakeMastodon) -> None:
    fake.add_status([None])
    src = MastodonPostSource(None, lambda _: _token("good-token"))
    try:
        assert len([page async for page in src.pages(platform(fake.base_url), None)]) == 1
    finally:
        await src.close()


async def _token(value: str) -> str:
    return value


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("7", now) == 7.0
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90.0
    assert retry_after_seconds(format_datetime(now - timedelta(seconds=5), usegmt=True), now) == 0.0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


async def test_a_server_that_filters_still_ends_at_its_statuses_count(
    fake: FakeMastodon, http: aiohttp.ClientSession
) -> None:
    """Pixelfed and Mastodon honour only_media/exclude_reblogs, but statuses_count counts every status."""
    fake.flavour, fake.honour_filters, fake.link_headers = "pixelfed", True, False
    fake.add_status([None])
    fake.add_status([])  # text only
    fake.add_status([None], reblog=True)
    fake.add_status([None])
    fake.add_status([])
    pages = await collect(source(http), fake.base_url)
    assert [post.post_id for page in pages for post in page.posts] == ["1003", "1000"]
    # two listed statuses, then the exhausted listing accounts for the three the server left out
    assert [(page.items_seen, page.items_total, len(page.posts)) for page in pages] == [(2, 5, 2), (5, 5, 0)]


async def test_a_limited_sync_reports_only_what_it_examined(fake: FakeMastodon, http: aiohttp.ClientSession) -> None:
    for _ in range(6):
        fake.add_status([None])
    pages = await collect(source(http), fake.base_url, limit=3)
    assert [(page.items_seen, page.items_total) for page in pages] == [(2, 6), (4, 6)]


async def test_verify_asks_once_and_tells_a_refused_token_from_an_unreachable_instance(
    fake: FakeMastodon, http: aiohttp.ClientSession
) -> None:
    src = source(http)
    await src.verify(platform(fake.base_url))
    with pytest.raises(PlatformUnavailable) as refused:
        await source(http, token="revoked").verify(platform(fake.base_url))
    assert refused.value.unreachable is False and refused.value.retry_possible is False
    fake.failures["verify"] = [503, 503]
    with pytest.raises(PlatformUnavailable) as down:
        await src.verify(platform(fake.base_url))
    assert down.value.unreachable is True
    assert len(fake.hits("/api/v1/accounts/verify_credentials")) == 3  # not retried
    with pytest.raises(PlatformUnavailable) as gone:
        await src.verify(platform(f"http://127.0.0.1:{unused_port()}"))
    assert gone.value.unreachable is True
