"""Approved captions published to fakes that speak Pixelfed's and Mastodon's APIs faithfully, and a SIGKILL mid-publish."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

import bootstrap
from domain.identity import Role
from tests.integration.fakes.mastodon import FakeMastodon
from tests.integration.fakes.ollama import FakeOllama
from tests.integration.harness import Client, serve
from tests.integration.processes import cli
from tests.integration.test_caption_engine import API_TOKEN, TOKEN, Node, Post, add_post, api, engine_settings


@pytest.fixture
async def ollama() -> AsyncIterator[FakeOllama]:
    fake = FakeOllama()
    await fake.start()
    yield fake
    await fake.stop()


@contextlib.asynccontextmanager
async def instance(flavour: str) -> AsyncIterator[FakeMastodon]:
    fake = FakeMastodon(token=TOKEN, flavour=flavour)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


def posts_of(fake: FakeMastodon, ollama: FakeOllama, descriptions: list[str | None]) -> tuple[str, list[Post]]:
    """A status with one image per description; each image Ollama captions as 'Caption of <post id>.'."""
    status, posts = add_post(fake, descriptions)
    for post in posts:
        ollama.responses[ollama.image_key(post.image)] = f"Caption of {post.post_id}."
    return status["id"], posts


async def connect(base: str, user_id: int, fake: FakeMastodon) -> int:
    body = {
        "user_id": user_id,
        "name": "mine",
        "platform_type": fake.flavour,
        "instance_url": fake.base_url,
        "access_token": TOKEN,
    }
    status, answer = await api(base, "POST", "/api/v1/platforms", body)
    assert status == 201, answer
    return int(answer["platform_id"])


async def caption_everything(base: str, user_id: int, fake: FakeMastodon, client: Client) -> dict[str, dict[str, Any]]:
    """Runs a caption job over the instance; returns its review items by post id."""
    platform_id = await connect(base, user_id, fake)
    status, body = await api(base, "POST", "/api/v1/caption-jobs", {"user_id": user_id, "platform_id": platform_id})
    assert status == 202, body
    done = await client.inbox.until("caption_generation_completed", lambda c: c["job_id"] == body["job_id"], timeout=30)
    assert done["status"] == "completed" and done["failed_captions"] == 0, done
    status, listed = await api(base, "GET", f"/api/v1/reviews?user_id={user_id}")
    assert status == 200, listed
    return {item["post_id"]: item for item in listed["items"]}


async def bulk_approve(base: str, user_id: int, client: Client, item_ids: list[str]) -> dict[str, Any]:
    body = {"user_id": user_id, "action": "approve", "item_ids": item_ids}
    status, answer = await api(base, "POST", "/api/v1/reviews/bulk", body)
    assert status == 202 and answer["refused"] == [], answer
    return await client.inbox.until(
        "caption_publish_progress", lambda p: p["batch_id"] == answer["batch_id"] and p["remaining"] == 0, timeout=30
    )


def media_id(post: Post) -> str:
    """The attachment's id: the fake names its files '<status id>-<n>.png' and its media '<status id><n>'."""
    return post.image_url.rsplit("/", 1)[1].removesuffix(".png").replace("-", "")


def media(fake: FakeMastodon, status_id: str) -> list[tuple[str, str | None]]:
    return [(m["id"], m["description"]) for m in fake.status(status_id)["media_attachments"]]


async def test_mastodon_edits_whole_statuses_and_never_overwrites_a_person(tmp_path: Path, ollama: FakeOllama) -> None:
    async with instance("mastodon") as fake:
        one, (a,) = posts_of(fake, ollama, [None])
        three, (b0, b1, b2) = posts_of(fake, ollama, [None, "A cat asleep on a mat", None])
        theirs, (c,) = posts_of(fake, ollama, [None])  # a person describes it after captioning
        limited, (d,) = posts_of(fake, ollama, [None])  # rate-limited once, then a 503, then fine
        down, (e,) = posts_of(fake, ollama, [None])  # fails every attempt: the publish fails, may be retried
        same, (f,) = posts_of(fake, ollama, [None])  # someone already wrote exactly our caption
        texts = {sid: dict(fake.sources[sid]) for sid in (one, three, theirs, limited, down, same)}
        before = {sid: [m for m, _ in media(fake, sid)] for sid in texts}
        settings = engine_settings(tmp_path / "m.db", fake, ollama, bootstrap.new_token_key(), publish_poll_seconds=0.5)
        async with serve(settings) as server:
            alice = await server.container.add_user()("alice", Role.REVIEWER)
            client = await server.client(await server.session("alice"))
            try:
                items = await caption_everything(server.url, alice.id, fake, client)
                assert set(items) == {a.post_id, b0.post_id, b2.post_id, c.post_id, d.post_id, e.post_id, f.post_id}
                assert items[b0.post_id]["original_description"] is None
                fake.describe(media_id(c), "Written by Carol herself.")
                fake.describe(media_id(f), f"Caption of {f.post_id}.")
                fake.fail_next[f"PUT /api/v1/statuses/{limited}"] = [429, 503]
                fake.fail_next[f"PUT /api/v1/statuses/{down}"] = [503] * 4
                path = f"/api/v1/reviews/{items[a.post_id]['item_id']}/edit"
                status, _ = await api(server.url, "POST", path, {"user_id": alice.id, "caption": "A & B, edited."})
                assert status == 200

                done = await bulk_approve(server.url, alice.id, client, [i["item_id"] for i in items.values()])
                assert done == done | {"total": 7, "published": 5, "failed": 2, "progress_percentage": 100}

                # Every approved description is in place, the person's own ones stayed, no text or image was lost.
                assert media(fake, one) == [(media_id(a), "A & B, edited.")]
                assert media(fake, three) == [
                    (media_id(b0), f"Caption of {b0.post_id}."),
                    (media_id(b1), "A cat asleep on a mat"),
                    (media_id(b2), f"Caption of {b2.post_id}."),
                ]
                assert media(fake, theirs) == [(media_id(c), "Written by Carol herself.")]
                assert media(fake, limited) == [(media_id(d), f"Caption of {d.post_id}.")]
                assert media(fake, down) == [(media_id(e), None)]
                assert {sid: dict(fake.sources[sid]) for sid in texts} == texts
                assert {sid: [m for m, _ in media(fake, sid)] for sid in texts} == before
                assert all(fake.status(sid)["content"] == f"<p>{texts[sid]['text']}</p>" for sid in texts)
                # Mastodon refuses media PUTs on attached media: only status edits were sent, one per image written.
                assert not fake.hits("/api/v1/media/")
                # the two images of one status went out in a single edit
                assert sorted(fake.applied_edits) == sorted([("status", s) for s in (one, three, limited)])

                # 429: waited for Retry-After (1 s) before asking again
                tries = [h.at for h in fake.hits(f"/api/v1/statuses/{limited}") if h.method == "PUT"]
                assert len(tries) == 3 and tries[1] - tries[0] >= 0.9

                failed = {p["item_id"]: p for p in client.inbox.of("caption_publish_failed")}
                conflict = failed[items[c.post_id]["item_id"]]
                assert conflict["error_type"] == "DESCRIPTION_CHANGED" and conflict["retry_possible"] is False
                assert conflict["status"] == "conflict"
                retry = failed[items[e.post_id]["item_id"]]
                assert retry["error_type"] == "PLATFORM_CONNECTION_ERROR" and retry["retry_possible"] is True
                published = {p["item_id"]: p for p in client.inbox.of("caption_published")}
                assert published[items[f.post_id]["item_id"]]["already_published"] is True  # the same text: no write

                # The failed one is approved again and goes through; the conflicting one stays unwritten.
                path = f"/api/v1/reviews/{items[e.post_id]['item_id']}/approve"
                status, _ = await api(server.url, "POST", path, {"user_id": alice.id})
                assert status == 200
                await client.inbox.until("caption_published", lambda p: p["item_id"] == items[e.post_id]["item_id"])
                assert media(fake, down) == [(media_id(e), f"Caption of {e.post_id}.")]
                assert fake.sources[down] == texts[down]
            finally:
                await client.close()

        # The fake is as strict as the real server: a media PUT on attached media is refused,
        # and an edit that leaves out the text and the media list clears and drops them.
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with aiohttp.ClientSession(headers=headers) as http:
            async with http.put(f"{fake.base_url}/api/v1/media/{media_id(a)}", json={"description": "x"}) as refused:
                assert refused.status == 404
            body = {"media_attributes": [{"id": media_id(a), "description": "y"}], "spoiler_text": "cw"}
            async with http.put(f"{fake.base_url}/api/v1/statuses/{one}", json=body) as careless:
                assert careless.status == 422  # no text and no media: Mastodon refuses the edit
            body = {"status": "", "media_ids": [media_id(b0)]}
            async with http.put(f"{fake.base_url}/api/v1/statuses/{three}", json=body) as careless:
                assert careless.status == 200
        assert fake.sources[three]["text"] == "" and len(media(fake, three)) == 1


async def test_pixelfed_updates_attached_media_and_keeps_a_persons_description(
    tmp_path: Path, ollama: FakeOllama
) -> None:
    async with instance("pixelfed") as fake:
        one, (a,) = posts_of(fake, ollama, [None])
        two, (b0, b1) = posts_of(fake, ollama, [None, None])
        flaky, (c,) = posts_of(fake, ollama, [None])
        texts = {sid: dict(fake.sources[sid]) for sid in (one, two, flaky)}
        settings = engine_settings(tmp_path / "p.db", fake, ollama, bootstrap.new_token_key(), publish_poll_seconds=0.5)
        async with serve(settings) as server:
            bob = await server.container.add_user()("bob", Role.MODERATOR)
            client = await server.client(await server.session("bob"))
            try:
                items = await caption_everything(server.url, bob.id, fake, client)
                assert {i["max_length"] for i in items.values()} == {1000}
                path = f"/api/v1/reviews/{items[a.post_id]['item_id']}/edit"
                status, body = await api(server.url, "POST", path, {"user_id": bob.id, "caption": "z" * 1001})
                assert status == 400 and body["data"]["error_details"]["limit"] == 1000
                b1_media = media_id(b1)
                fake.describe(b1_media, "Bob's sister wrote this one.")
                fake.fail_next[f"PUT /api/v1/media/{media_id(c)}"] = [502]
                done = await bulk_approve(server.url, bob.id, client, [i["item_id"] for i in items.values()])
                assert done == done | {"total": 4, "published": 3, "failed": 1}
            finally:
                await client.close()
        assert media(fake, one) == [(media_id(a), f"Caption of {a.post_id}.")]
        assert media(fake, two) == [
            (media_id(b0), f"Caption of {b0.post_id}."),
            (b1_media, "Bob's sister wrote this one."),
        ]
        assert media(fake, flaky) == [(media_id(c), f"Caption of {c.post_id}.")]  # a 502 once, then written
        assert not [h for h in fake.hits("/api/v1/statuses/") if h.method == "PUT"]  # media PUTs only
        assert sorted(fake.applied_edits) == sorted(
            [("media", media_id(a)), ("media", media_id(b0)), ("media", media_id(c))]
        )
        assert {sid: dict(fake.sources[sid]) for sid in texts} == texts


# --- SIGKILL in the middle of a bulk publish: the served process, a SQLite file, the fakes in this test's loop ---


def review_states(node: Node) -> dict[str, str]:
    path = node.env["DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return dict(conn.execute("SELECT post_id, status FROM review_items"))


async def test_a_bulk_publish_survives_sigkill_without_double_writes_or_lost_approvals(
    tmp_path: Path, ollama: FakeOllama
) -> None:
    async with instance("mastodon") as fake:
        statuses = [posts_of(fake, ollama, [None])[0] for _ in range(10)]
        texts = {sid: dict(fake.sources[sid]) for sid in statuses}
        env = {
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'node.db'}",
            "API_TOKEN": API_TOKEN,
            "POST_SOURCE": "mastodon",
            "CAPTION_GENERATOR": "ollama",
            "PLATFORM_TOKEN_KEY": bootstrap.new_token_key(),
            "PLATFORM_TIMEOUT": "10",
            "OLLAMA_URL": ollama.base_url,
            "OLLAMA_MODEL": "llava",
            "OLLAMA_RETRIES": "1",
            "PUBLISH_POLL_SECONDS": "1",
        }
        await asyncio.to_thread(cli, env, "users", "add", "alice", "--role", "reviewer")
        node = Node(env, tmp_path / "node.log")
        await node.start()
        try:
            alice = await node.session("alice")
            client = await node.client(alice)
            try:
                items = await caption_everything(node.url, alice.user_id, fake, client)
                assert len(items) == 10
                fake.write_delay = 0.3  # each status edit takes a while: the kill lands in the middle
                status, answer = await api(
                    node.url,
                    "POST",
                    "/api/v1/reviews/bulk",
                    {"user_id": alice.user_id, "action": "approve", "item_ids": [i["item_id"] for i in items.values()]},
                )
                assert status == 202 and len(answer["approved"]) == 10
                for _ in range(3):
                    await client.inbox.next("caption_published", timeout=15)
            finally:
                await client.close()
            await node.kill()
            states = review_states(node)
            published_before = sum(1 for s in states.values() if s == "published")
            assert 3 <= published_before < 10, states
            assert set(states.values()) <= {"published", "approved", "publishing"}  # every approval is stored

            await node.start()
            client = await node.client(alice)
            try:
                deadline = asyncio.get_running_loop().time() + 30
                while set(review_states(node).values()) != {"published"}:
                    assert asyncio.get_running_loop().time() < deadline, review_states(node)
                    await asyncio.sleep(0.2)
            finally:
                await client.close()
        finally:
            await node.stop()
        # Every description in place, written exactly once (a write that landed before the kill is seen on the
        # re-read and not repeated), no text lost, no attachment dropped.
        for sid in statuses:
            assert media(fake, sid) == [(f"{sid}0", f"Caption of {sid}.")]
        assert sorted(fake.applied_edits) == sorted(("status", sid) for sid in statuses)
        assert {sid: dict(fake.sources[sid]) for sid in statuses} == texts
