"""True platform events: sync totals from statuses_count, and platform_connection_status on add, refusal, outage, return."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from yarl import URL

import bootstrap
from domain.identity import Role
from tests.integration.fakes import unused_port
from tests.integration.fakes.mastodon import FakeMastodon
from tests.integration.fakes.ollama import FakeOllama
from tests.integration.harness import serve
from tests.integration.processes import cli
from tests.integration.test_caption_engine import TOKEN, add_post, connect_platform, engine_settings, start_job

STATUS_FIELDS = {"user_id", "platform_id", "platform_name", "platform_type", "status", "last_sync"}


@pytest.fixture
async def pixelfed() -> AsyncIterator[FakeMastodon]:
    """Pixelfed as it pages: no Link header, only_media honoured, statuses_count counting every post."""
    fake = FakeMastodon(token=TOKEN, account_id="704530133016391681", flavour="pixelfed")
    fake.link_headers, fake.honour_filters = False, True
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def mastodon() -> AsyncIterator[FakeMastodon]:
    fake = FakeMastodon(token=TOKEN)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def ollama() -> AsyncIterator[FakeOllama]:
    fake = FakeOllama()
    await fake.start()
    yield fake
    await fake.stop()


def settings(tmp_path: Path, fake: FakeMastodon, ollama: FakeOllama, **overrides: Any) -> bootstrap.Settings:
    return engine_settings(tmp_path / "platforms.db", fake, ollama, bootstrap.new_token_key(), **overrides)


def statuses(events: list[dict[str, Any]]) -> list[str]:
    return [e["status"] for e in events]


async def test_pixelfed_sync_progress_counts_against_statuses_count_and_ends_at_100(
    tmp_path: Path, pixelfed: FakeMastodon, ollama: FakeOllama
) -> None:
    for descriptions in ([None], [], [None, None], [], [], [None], [], [None]):  # 8 posts, 4 with images
        add_post(pixelfed, descriptions)
    async with serve(settings(tmp_path, pixelfed, ollama)) as server:
        alice = await server.container.add_user()("alice", Role.REVIEWER)
        client = await server.client(await server.session("alice"))
        try:
            platform_id = await connect_platform(
                server.url, alice.id, pixelfed.base_url, TOKEN, platform_type="pixelfed"
            )
            job_id = await start_job(server.url, alice.id, platform_id)
            completed = await client.inbox.until("caption_generation_completed", lambda c: c["job_id"] == job_id)
        finally:
            await client.close()
    assert completed["total_posts_processed"] == 5
    pages = client.inbox.of("platform_sync_progress")
    # pages of 3 of the 4 statuses with media (the server filters the text posts out), then the end of the
    # listing: all 8 of statuses_count examined
    assert [(p["current_item"], p["total_items"], p["progress_percentage"]) for p in pages] == [
        (3, 8, 37),
        (4, 8, 50),
        (8, 8, 100),
    ]
    assert all(p["platform_id"] == platform_id and p["sync_type"] == "posts" for p in pages)
    asked = [seen.query.get("max_id") for seen in pixelfed.hits(f"/api/v1/accounts/{pixelfed.account_id}/statuses")]
    assert len(asked) == 3 and asked[0] is None  # paged by max_id, no Link header


async def test_adding_a_platform_reports_what_the_instance_said(
    tmp_path: Path, mastodon: FakeMastodon, ollama: FakeOllama
) -> None:
    async with serve(settings(tmp_path, mastodon, ollama)) as server:
        alice = await server.container.add_user()("alice", Role.REVIEWER)
        client = await server.client(await server.session("alice"))
        try:
            good = await connect_platform(server.url, alice.id, mastodon.base_url, TOKEN, "connected")
            refused = await connect_platform(server.url, alice.id, mastodon.base_url, "wrong-token", "error")
            nowhere = f"http://127.0.0.1:{unused_port()}"
            gone = await connect_platform(server.url, alice.id, nowhere, TOKEN, "disconnected")
            told = [await client.inbox.next("platform_connection_status") for _ in range(3)]
        finally:
            await client.close()
    assert [(t["platform_id"], t["status"]) for t in told] == [
        (good, "connected"),
        (refused, "error"),
        (gone, "disconnected"),
    ]
    for event in told:
        assert set(event) == STATUS_FIELDS | {"timestamp", "message_id"}
        assert event == event | {"user_id": alice.id, "platform_type": "mastodon", "last_sync": None}
    assert len(mastodon.hits("/api/v1/accounts/verify_credentials")) == 2  # one each, not retried


async def test_an_instance_that_goes_away_is_disconnected_and_connected_again_when_it_returns(
    tmp_path: Path, mastodon: FakeMastodon, ollama: FakeOllama
) -> None:
    port = URL(mastodon.base_url).port
    assert port is not None
    async with serve(settings(tmp_path, mastodon, ollama, system_status_interval=0.2)) as server:
        alice = await server.container.add_user()("alice", Role.REVIEWER)
        client = await server.client(await server.session("alice"))
        try:
            platform_id = await connect_platform(server.url, alice.id, mastodon.base_url, TOKEN)
            refused_id = await connect_platform(server.url, alice.id, mastodon.base_url, "wrong-token", "error")
            await client.inbox.until("platform_connection_status", lambda s: s["platform_id"] == refused_id)

            await mastodon.stop()
            down = await client.inbox.until("platform_connection_status", lambda s: s["status"] == "disconnected")
            assert down == down | {"platform_id": platform_id, "user_id": alice.id}
            assert (await server.container.platforms().get(platform_id)).status.value == "disconnected"  # type: ignore[union-attr]

            await mastodon.start(port)
            back = await client.inbox.until("platform_connection_status", lambda s: s["status"] == "connected")
            assert back == back | {"platform_id": platform_id, "user_id": alice.id}
        finally:
            await client.close()
    mine = [s for s in client.inbox.of("platform_connection_status") if s["platform_id"] == platform_id]
    assert statuses(mine) == ["connected", "disconnected", "connected"]  # each change told once, no repeats
    # the connection whose token was refused stays `error` through the outage and the return
    assert statuses([s for s in client.inbox.of("platform_connection_status") if s["platform_id"] == refused_id]) == [
        "error"
    ]


async def test_a_job_on_an_unreachable_instance_reports_it_disconnected(
    tmp_path: Path, mastodon: FakeMastodon, ollama: FakeOllama
) -> None:
    add_post(mastodon, [None])
    async with serve(settings(tmp_path, mastodon, ollama, system_status_interval=60)) as server:
        alice = await server.container.add_user()("alice", Role.REVIEWER)
        platform_id = await connect_platform(server.url, alice.id, mastodon.base_url, TOKEN)
        await mastodon.stop()
        client = await server.client(await server.session("alice"))
        try:
            job_id = await start_job(server.url, alice.id, platform_id)
            done = await client.inbox.until("caption_generation_completed", lambda c: c["job_id"] == job_id, timeout=15)
        finally:
            await client.close()
    assert done["status"] == "failed"
    assert statuses(client.inbox.of("platform_connection_status")) == ["syncing", "disconnected"]
    error = client.inbox.of("caption_generation_error")[-1]
    assert error["error_type"] == "PLATFORM_CONNECTION_ERROR" and error["retry_possible"] is True


async def test_the_cli_adds_a_platform_and_says_what_the_instance_said(tmp_path: Path, mastodon: FakeMastodon) -> None:
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        "POST_SOURCE": "mastodon",
        "PLATFORM_TOKEN_KEY": bootstrap.new_token_key(),
    }
    await asyncio.to_thread(cli, env, "users", "add", "dora", "--role", "reviewer")
    add = ("platforms", "add", "dora", "--name", "Dora", "--type", "mastodon", "--url", mastodon.base_url, "--token")
    good = await asyncio.to_thread(cli, env, *add, TOKEN)  # the fake answers in this loop meanwhile
    refused = await asyncio.to_thread(cli, env, *add, "wrong-token")
    assert (good["status"], refused["status"]) == ("connected", "error")
    assert good == {"id": good["id"], "user_id": good["user_id"], "name": "Dora", "status": "connected"}
