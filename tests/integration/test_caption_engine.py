"""The real caption engine (Mastodon source, Ollama generator) against fakes: every event, failures, durability."""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import aiohttp
import pytest

import bootstrap
from adapters.outbound.crypto import TokenCipher
from adapters.outbound.ollama import OllamaCaptionGenerator
from domain.identity import Role
from tests.integration.fakes.mastodon import FakeMastodon
from tests.integration.fakes.ollama import FakeOllama, tiny_png
from tests.integration.harness import Client, open_client, serve, settings_for
from tests.integration.processes import LISTENING, SCRIPT, child_env, cli
from tests.integration.waiting import eventually

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
API_TOKEN = "test-token"
TOKEN = "mastodon-access-token-7f3a9c"
PLATFORM_NAME = "Alice on Mastodon"
STAMP = {"timestamp", "message_id"}
PROGRESS_FIELDS = {
    "user_id",
    "job_id",
    "current_post",
    "total_posts",
    "progress_percentage",
    "current_post_id",
    "current_post_url",
    "status",
    "estimated_time_remaining",
}
JOB_EVENTS = {
    "platform_connection_status",
    "platform_sync_progress",
    "caption_generation_started",
    "caption_progress",
    "caption_generated",
    "caption_generation_error",
    "caption_generation_completed",
    "caption_generation_paused",
    "caption_generation_resumed",
}


@dataclass(frozen=True)
class Post:
    """One image the job must caption, in the order the instance lists it."""

    post_id: str
    post_url: str
    image_url: str
    image: bytes


@dataclass(frozen=True)
class Session:
    id: str
    csrf_token: str
    user_id: int


@pytest.fixture
async def mastodon() -> AsyncIterator[FakeMastodon]:
    fake = FakeMastodon(token=TOKEN)
    await fake.start()
    yield fake
    if fake.hold is not None:
        fake.hold.set()
    await fake.stop()


@pytest.fixture
async def ollama() -> AsyncIterator[FakeOllama]:
    fake = FakeOllama()
    await fake.start()
    yield fake
    await fake.stop()


def add_post(
    mastodon: FakeMastodon, descriptions: list[str | None], **kwargs: Any
) -> tuple[dict[str, Any], list[Post]]:
    """A status whose attachments each serve distinct PNG bytes; returns it and its posts to caption."""
    status = mastodon.add_status(descriptions, **kwargs)
    media = status["media_attachments"]
    posts = []
    for item in media:
        image = tiny_png(len(mastodon.media) + 1, 40, 200)
        mastodon.serve_media(item["url"], image)
        post_id = status["id"] if len(media) == 1 else f"{status['id']}:{item['id']}"
        posts.append(Post(post_id, status["url"], item["url"], image))
    return status, posts


async def api(base: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.request(
            method, base + path, json=body, headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=10
        ) as answer,
    ):
        return answer.status, await answer.json()


async def connect_platform(
    base: str, user_id: int, instance_url: str, token: str, expect: str = "connected", platform_type: str = "mastodon"
) -> int:
    """Adds the connection; the instance is asked at once, and the answer says what it said (`expect`)."""
    body = {
        "user_id": user_id,
        "name": PLATFORM_NAME,
        "platform_type": platform_type,
        "instance_url": instance_url,
        "access_token": token,
    }
    status, answer = await api(base, "POST", "/api/v1/platforms", body)
    assert status == 201, answer
    assert answer == {
        "platform_id": answer["platform_id"],
        "user_id": user_id,
        "name": PLATFORM_NAME,
        "platform_type": platform_type,
        "instance_url": instance_url,
        "status": expect,
    }
    assert isinstance(answer["platform_id"], int)
    return int(answer["platform_id"])


async def start_job(base: str, user_id: int, platform_id: int) -> str:
    status, body = await api(base, "POST", "/api/v1/caption-jobs", {"user_id": user_id, "platform_id": platform_id})
    assert status == 202, body
    assert body == {"job_id": body["job_id"], "user_id": user_id, "platform_id": platform_id, "status": "queued"}
    return str(body["job_id"])


async def get_job(base: str, job_id: str) -> dict[str, Any]:
    status, body = await api(base, "GET", f"/api/v1/caption-jobs/{job_id}")
    assert status == 200, body
    return dict(body)


def fields(payload: dict[str, Any], names: set[str]) -> None:
    """The payload has exactly these fields besides its stamp, and a valid stamp."""
    assert set(payload) == names | STAMP, payload
    assert ISO.match(payload["timestamp"]), payload
    assert isinstance(payload["message_id"], str) and payload["message_id"]


def job_events(client: Client, job_id: str | None = None) -> list[tuple[str, dict[str, Any]]]:
    return [
        (name, data)
        for name, data in client.inbox.events
        if name in JOB_EVENTS and (job_id is None or data.get("job_id", job_id) == job_id)
    ]


def engine_settings(db: Path, mastodon: FakeMastodon, ollama: FakeOllama, key: str, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "demo_mode": False,
        "post_source": "mastodon",
        "caption_generator": "ollama",
        "platform_token_key": key,
        "platform_page_size": 3,
        "platform_timeout": 5.0,
        "ollama_url": ollama.base_url,
        "ollama_model": "llava",
        "ollama_timeout": 0.5,
        "ollama_retries": 1,
    }
    return settings_for(f"sqlite+aiosqlite:///{db}", **(values | overrides))


def files_holding(folder: Path, prefix: str, secret: str) -> list[Path]:
    """The database files (main, journal, WAL) under `folder` whose bytes contain `secret`."""
    return [path for path in folder.glob(f"{prefix}*") if secret.encode() in path.read_bytes()]


async def test_a_mastodon_job_captioned_by_ollama_reports_every_step_truthfully(
    tmp_path: Path, mastodon: FakeMastodon, ollama: FakeOllama
) -> None:
    # Added oldest first; the instance lists newest first, three a page: [a b c] [d e f] [g h i], then nothing.
    i_status, _ = add_post(mastodon, [None], media_type="video")
    _, (h,) = add_post(mastodon, [None])
    _, (g,) = add_post(mastodon, [None])  # Ollama is slower than OLLAMA_TIMEOUT for it
    f_status, (f,) = add_post(mastodon, [None])  # its URL serves a web page, not an image
    mastodon.serve_media(f.image_url, b"<html><body>Sign in to see this</body></html>", "text/html")
    _, (e,) = add_post(mastodon, [None])  # Ollama answers 500 once for it, then a caption
    _, (d0, d1, d2) = add_post(mastodon, [None, "A cat asleep on a mat", None])
    c_status, _ = add_post(mastodon, [None], reblog=True)
    _, (b,) = add_post(mastodon, ["A described picture"])
    _, (a,) = add_post(mastodon, [None])
    mastodon.failures["statuses"] = [0, 429]  # the second page is rate-limited once, with Retry-After: 1
    posts = [a, d0, d2, e, f, g, h]

    raw = {
        a: 'Alt text: "A red   square\n on a white wall."',
        d0: "  The left half of a diptych.  ",
        d2: "\u201cThe right half of a diptych.\u201d",
        e: "Description: A second try worked.",
        h: "A quiet street at dusk.",
    }
    cleaned = {
        a: "A red square on a white wall.",
        d0: "The left half of a diptych.",
        d2: "The right half of a diptych.",
        e: "A second try worked.",
        h: "A quiet street at dusk.",
    }
    for post, text in raw.items():
        ollama.responses[ollama.image_key(post.image)] = text
    ollama.image_failures[ollama.image_key(e.image)] = [500]
    ollama.delays[ollama.image_key(g.image)] = 1.0

    key = bootstrap.new_token_key()
    db = tmp_path / "engine.db"
    async with serve(engine_settings(db, mastodon, ollama, key)) as server:
        alice = await server.container.add_user()("alice", Role.REVIEWER)
        platform_id = await connect_platform(server.url, alice.id, mastodon.base_url, TOKEN)

        # The token is stored encrypted with PLATFORM_TOKEN_KEY: its text is nowhere in the database files.
        with contextlib.closing(sqlite3.connect(db)) as conn:
            rows = conn.execute("SELECT platform_id, token_ciphertext FROM platform_credentials").fetchall()
        assert len(rows) == 1 and rows[0][0] == platform_id
        assert TOKEN not in repr(rows) and TokenCipher(key).decrypt(rows[0][1]) == TOKEN
        assert (tmp_path / "engine.db").exists() and files_holding(tmp_path, "engine.db", TOKEN) == []

        client = await server.client(await server.session("alice"))
        try:
            job_id = await start_job(server.url, alice.id, platform_id)
            completed = await client.inbox.next("caption_generation_completed", timeout=20)
        finally:
            await client.close()
        job = await get_job(server.url, job_id)

    events = job_events(client)
    expected_names = [
        "platform_connection_status",
        *["platform_sync_progress"] * 3,
        "platform_connection_status",
        "caption_generation_started",
    ]
    failures = {f: ("INVALID_IMAGE", False), g: ("OLLAMA_TIMEOUT", True)}
    for post in posts:
        outcome = "caption_generation_error" if post in failures else "caption_generated"
        expected_names += ["caption_progress", outcome, "caption_progress"]
    expected_names.append("caption_generation_completed")
    assert [name for name, _ in events] == expected_names

    platform_fields = {"user_id", "platform_id", "platform_name", "platform_type", "status", "last_sync"}
    syncing, connected = (data for name, data in events if name == "platform_connection_status")
    for status in (syncing, connected):
        fields(status, platform_fields)
        assert status == status | {
            "user_id": alice.id,
            "platform_id": platform_id,
            "platform_name": PLATFORM_NAME,
            "platform_type": "mastodon",
        }
    assert syncing["status"] == "syncing" and syncing["last_sync"] is None
    assert connected["status"] == "connected" and ISO.match(connected["last_sync"])

    # One report per page: the statuses examined of the account's statuses_count (9), as verify_credentials said.
    pages = [data for name, data in events if name == "platform_sync_progress"]
    for page in pages:
        fields(page, {"user_id", "platform_id", "sync_type", "current_item", "total_items", "progress_percentage"})
        assert page == page | {"user_id": alice.id, "platform_id": platform_id, "sync_type": "posts"}
    assert [(p["current_item"], p["total_items"], p["progress_percentage"]) for p in pages] == [
        (3, 9, 33),
        (6, 9, 66),
        (9, 9, 100),
    ]

    started = next(data for name, data in events if name == "caption_generation_started")
    fields(started, {"user_id", "job_id", "total_posts", "estimated_duration"})
    per_post = OllamaCaptionGenerator(None).seconds_per_post_estimate
    assert started == started | {"user_id": alice.id, "job_id": job_id, "total_posts": 7}
    assert started["estimated_duration"] == round(7 * per_post)

    progress = [data for name, data in events if name == "caption_progress"]
    outcomes = [data for name, data in events if name in ("caption_generated", "caption_generation_error")]
    assert len(progress) == 14 and len(outcomes) == 7
    for number, post in enumerate(posts, start=1):
        before, after = progress[2 * number - 2], progress[2 * number - 1]
        for report in (before, after):
            fields(report, PROGRESS_FIELDS)
            assert report == report | {
                "user_id": alice.id,
                "job_id": job_id,
                "current_post": number,
                "total_posts": 7,
                "current_post_id": post.post_id,
                "current_post_url": post.post_url,
            }
            assert isinstance(report["estimated_time_remaining"], int) and report["estimated_time_remaining"] >= 0
        # both reports of post n say n/7, as the reference's "post 5 of 25 processing: 20 %"
        assert before["status"] == "processing" and before["progress_percentage"] == number * 100 // 7
        assert after["status"] == ("failed" if post in failures else "captioned")
        assert after["progress_percentage"] == number * 100 // 7
    assert progress[0]["estimated_time_remaining"] == round(7 * per_post)
    assert progress[-1]["estimated_time_remaining"] == 0 and progress[-1]["progress_percentage"] == 100

    generated = {}
    for post, outcome in zip(posts, outcomes, strict=True):
        if post in failures:
            fields(outcome, {"user_id", "job_id", "post_id", "error_type", "error_message", "retry_possible"})
            error_type, retry_possible = failures[post]
            assert outcome == outcome | {
                "user_id": alice.id,
                "job_id": job_id,
                "post_id": post.post_id,
                "error_type": error_type,
                "retry_possible": retry_possible,
            }
        else:
            fields(
                outcome, {"user_id", "job_id", "post_id", "post_url", "caption", "confidence_score", "processing_time"}
            )
            assert outcome == outcome | {
                "user_id": alice.id,
                "job_id": job_id,
                "post_id": post.post_id,
                "post_url": post.post_url,
                "caption": cleaned[post],
                "confidence_score": None,
            }
            assert outcome["processing_time"] > 0
            generated[post] = outcome
    assert "text/html" in outcomes[posts.index(f)]["error_message"]
    assert "0.5s" in outcomes[posts.index(g)]["error_message"]
    # processing_time covers the whole caption: the retried one includes its failed attempt and backoff
    assert generated[e]["processing_time"] > max(generated[p]["processing_time"] for p in (a, d0, d2, h))

    fields(
        completed,
        {
            "user_id",
            "job_id",
            "status",
            "total_posts_processed",
            "successful_captions",
            "failed_captions",
            "total_processing_time",
            "average_processing_time",
        },
    )
    assert completed == completed | {
        "user_id": alice.id,
        "job_id": job_id,
        "status": "completed",
        "total_posts_processed": 7,
        "successful_captions": 5,
        "failed_captions": 2,
    }
    assert completed["total_processing_time"] >= sum(g["processing_time"] for g in generated.values()) - 0.01
    assert abs(completed["average_processing_time"] - completed["total_processing_time"] / 7) <= 0.001

    # The host API lists exactly one result per image, with the captions and errors the user was sent.
    assert job == job | {
        "job_id": job_id,
        "user_id": alice.id,
        "platform_id": platform_id,
        "status": "completed",
        "total_posts": 7,
        "processed": 7,
        "successful_captions": 5,
        "failed_captions": 2,
        "progress_percentage": 100,
        "pause_reason": None,
    }
    assert ISO.match(job["started_at"]) and ISO.match(job["finished_at"])
    assert [r["post_id"] for r in job["results"]] == [p.post_id for p in posts]
    for post, result, outcome in zip(posts, job["results"], outcomes, strict=True):
        assert result["post_url"] == post.post_url and result["image_url"] == post.image_url
        assert result["confidence_score"] is None
        if post in failures:
            assert result["caption"] is None and result["processing_time"] == 0
            assert result["error_type"] == outcome["error_type"]
            assert result["error_message"] == outcome["error_message"]
        else:
            assert result["caption"] == outcome["caption"] and result["error_type"] is None
            assert result["processing_time"] == outcome["processing_time"]

    # Mastodon: every API call carried the token; pages followed by Link (max_id), the 429 waited Retry-After.
    api_calls = mastodon.hits("/api/v1/accounts")
    assert api_calls and all(seen.headers.get("Authorization") == f"Bearer {TOKEN}" for seen in api_calls)
    assert len(mastodon.hits("/api/v1/accounts/verify_credentials")) == 2  # at the add, then at the sync
    pages_asked = mastodon.hits("/api/v1/accounts/109/statuses")
    assert [seen.query.get("max_id") for seen in pages_asked] == [
        None,
        c_status["id"],
        c_status["id"],
        f_status["id"],
        i_status["id"],
    ]
    assert all(seen.query["limit"] == "3" for seen in pages_asked)
    assert pages_asked[2].at - pages_asked[1].at >= 0.95
    # Only the undescribed images were downloaded, once each, and without the token.
    downloads = mastodon.hits("/media/")
    assert sorted(seen.path for seen in downloads) == sorted(
        "/media/" + p.image_url.split("/media/", 1)[1] for p in posts
    )
    assert not any("Authorization" in seen.headers for seen in downloads)
    assert not {b.image_url, d1.image_url} & {mastodon.base_url + seen.path for seen in downloads}

    # Ollama: the configured model and the exact image bytes; the 500 and the timeout retried once, nothing else.
    assert all(body["model"] == "llava" and body["stream"] is False for body in ollama.generated)
    asked = {post: len(ollama.generations_of(post.image)) for post in posts}
    assert asked == {a: 1, d0: 1, d2: 1, e: 2, f: 0, g: 2, h: 1}
    assert len(ollama.generated) == 8


async def test_a_missing_model_fails_each_post_at_once_and_alerts_the_admins(
    tmp_path: Path, mastodon: FakeMastodon, ollama: FakeOllama
) -> None:
    posts = [add_post(mastodon, [None])[1][0] for _ in range(3)][::-1]  # listed newest first
    settings = engine_settings(
        tmp_path / "model.db", mastodon, ollama, bootstrap.new_token_key(), ollama_retries=2, system_status_interval=0.2
    )
    async with serve(settings) as server:
        alice = await server.container.add_user()("alice", Role.REVIEWER)
        await server.container.add_user()("root", Role.ADMIN)
        platform_id = await connect_platform(server.url, alice.id, mastodon.base_url, TOKEN)
        client = await server.client(await server.session("alice"))
        admin = await server.client(await server.session("root"), "/admin")
        try:
            # Healthy while the model is there; the change is what raises the alert, so see it happen.
            await admin.inbox.until(
                "system_status_update", lambda s: s["component"] == "ollama" and s["status"] == "healthy"
            )
            ollama.models = ["moondream:latest"]
            degraded = await admin.inbox.until(
                "system_status_update", lambda s: s["component"] == "ollama" and s["status"] == "degraded"
            )
            assert degraded["metrics"] == degraded["metrics"] | {"model": "llava", "model_present": False}
            alert = await admin.inbox.until("admin_alert", lambda a: a["component"] == "ollama")
            fields(alert, {"alert_id", "severity", "component", "title", "message", "recommended_action"})
            assert alert["severity"] == "warning" and "degraded" in alert["title"]
            assert "llava" in alert["message"]

            job_id = await start_job(server.url, alice.id, platform_id)
            completed = await client.inbox.next("caption_generation_completed", timeout=15)
        finally:
            await client.close()
            await admin.close()

    errors = client.inbox.of("caption_generation_error")
    assert [e["post_id"] for e in errors] == [p.post_id for p in posts]
    for error in errors:
        assert error["error_type"] == "OLLAMA_MODEL_NOT_FOUND" and error["retry_possible"] is False
        assert "ollama pull llava" in error["error_message"] and error["job_id"] == job_id
    assert not client.inbox.of("caption_generated")
    assert [p["status"] for p in client.inbox.of("caption_progress")] == ["processing", "failed"] * 3
    assert completed == completed | {
        "job_id": job_id,
        "status": "completed",
        "total_posts_processed": 3,
        "successful_captions": 0,
        "failed_captions": 3,
    }
    # Not retried: one generate request per image although OLLAMA_RETRIES is 2.
    assert [len(ollama.generations_of(p.image)) for p in posts] == [1, 1, 1]
    assert len(ollama.generated) == 3


async def test_a_refused_token_fails_the_job_without_retrying(
    tmp_path: Path, mastodon: FakeMastodon, ollama: FakeOllama
) -> None:
    add_post(mastodon, [None])
    async with serve(engine_settings(tmp_path / "token.db", mastodon, ollama, bootstrap.new_token_key())) as server:
        alice = await server.container.add_user()("alice", Role.REVIEWER)
        platform_id = await connect_platform(server.url, alice.id, mastodon.base_url, "a-revoked-token", "error")
        client = await server.client(await server.session("alice"))
        try:
            job_id = await start_job(server.url, alice.id, platform_id)
            completed = await client.inbox.next("caption_generation_completed", timeout=10)
        finally:
            await client.close()
        job = await get_job(server.url, job_id)

    events = job_events(client)
    assert [name for name, _ in events] == [
        "platform_connection_status",
        "platform_connection_status",
        "caption_generation_error",
        "caption_generation_completed",
    ]
    syncing, refused, error = (data for _, data in events[:3])
    assert syncing["status"] == "syncing"
    fields(refused, {"user_id", "platform_id", "platform_name", "platform_type", "status", "last_sync"})
    assert refused == refused | {"platform_id": platform_id, "status": "error", "last_sync": None}
    fields(error, {"user_id", "job_id", "post_id", "error_type", "error_message", "retry_possible"})
    assert error == error | {
        "user_id": alice.id,
        "job_id": job_id,
        "post_id": None,
        "error_type": "PLATFORM_CONNECTION_ERROR",
        "retry_possible": False,
    }
    assert "401" in error["error_message"]
    assert completed == completed | {
        "job_id": job_id,
        "status": "failed",
        "total_posts_processed": 0,
        "successful_captions": 0,
        "failed_captions": 0,
    }
    assert job["status"] == "failed" and job["results"] == [] and ISO.match(job["finished_at"])
    # once at the add, once by the job: a refusal is never retried
    verify = mastodon.hits("/api/v1/accounts/verify_credentials")
    assert [seen.headers.get("Authorization") for seen in verify] == ["Bearer a-revoked-token"] * 2
    assert not mastodon.hits("/api/v1/accounts/109/statuses") and not ollama.generated


# --- the served process: a SQLite file, the real adapters, the fakes on loopback in this test's loop ---


def _log_file(path: Path) -> IO[bytes]:
    return path.open("ab")


async def _copy_to(stream: asyncio.StreamReader, log: Path) -> None:
    """The rest of a server's output into its log (so the pipe never fills and blocks the server)."""
    with _log_file(log) as out:
        while line := await stream.readline():
            out.write(line)
            out.flush()


@dataclass
class Node:
    """`vedfolnir-realtime serve` as a process, startable again on the same database (on a new free port)."""

    env: dict[str, str]
    log: Path
    port: int = 0
    proc: asyncio.subprocess.Process | None = None
    _copying: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Starts `serve --port 0` and waits for the line naming the port it bound; its output goes to `log`."""
        self.proc = await asyncio.create_subprocess_exec(
            str(SCRIPT),
            "serve",
            "--port",
            "0",
            env=child_env(self.env),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        assert self.proc.stdout is not None
        with _log_file(self.log) as out:
            async with asyncio.timeout(30):
                while True:
                    line = await self.proc.stdout.readline()
                    out.write(line)
                    assert line, "the server exited before listening:\n" + self.log.read_text()[-3000:]
                    match = LISTENING.match(line.decode(errors="replace"))
                    if match:
                        self.port = int(match["port"])
                        break
        self._copying = asyncio.create_task(_copy_to(self.proc.stdout, self.log))

    async def _stopped(self) -> None:
        if self._copying is not None:
            await asyncio.wait_for(self._copying, 10)  # ends at the pipe's end, i.e. when the process has exited
            self._copying = None

    async def kill(self) -> None:
        """SIGKILL: no cleanup of any kind."""
        assert self.proc is not None
        self.proc.kill()
        await self.proc.wait()
        await self._stopped()

    async def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        await self._stopped()

    async def client(self, session: Session) -> Client:
        return await open_client(self.url, session)

    async def session(self, username: str) -> Session:
        status, body = await api(self.url, "POST", "/api/v1/sessions", {"username": username, "ttl_seconds": 3600})
        assert status == 201, body
        return Session(body["session_id"], body["csrf_token"], body["user_id"])


@pytest.fixture
async def node(tmp_path: Path, mastodon: FakeMastodon, ollama: FakeOllama) -> AsyncIterator[Node]:
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'node.db'}",
        "API_TOKEN": API_TOKEN,
        "POST_SOURCE": "mastodon",
        "CAPTION_GENERATOR": "ollama",
        "PLATFORM_TOKEN_KEY": bootstrap.new_token_key(),
        "PLATFORM_PAGE_SIZE": "4",
        "PLATFORM_TIMEOUT": "10",
        "OLLAMA_URL": ollama.base_url,
        "OLLAMA_MODEL": "llava",
        "OLLAMA_TIMEOUT": "10",
        "OLLAMA_RETRIES": "1",
        "SYSTEM_STATUS_INTERVAL": "5",
        "SESSION_CHECK_INTERVAL": "1",
        "JOB_RECHECK_SECONDS": "1",
    }
    await asyncio.to_thread(cli, env, "users", "add", "alice", "--role", "reviewer")
    served = Node(env, tmp_path / "node.log")
    await served.start()
    try:
        yield served
    finally:
        await served.stop()


def slow_posts(mastodon: FakeMastodon, ollama: FakeOllama, count: int) -> list[Post]:
    """`count` single-image posts, newest first, each captioned by Ollama in 0.3 s with its own caption."""
    for _ in range(count):
        add_post(mastodon, [None])
    posts = []
    for status in mastodon.statuses:
        item = status["media_attachments"][0]
        image = mastodon.media[item["url"].split("/media/", 1)[1]][0]
        posts.append(Post(status["id"], status["url"], item["url"], image))
        ollama.responses[ollama.image_key(image)] = f"Caption of post {status['id']}."
    ollama.delay = 0.3
    return posts


def stored_results(node: Node, job_id: str) -> list[str]:
    """The post ids stored for a job, read from the database file itself."""
    path = node.env["DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")
    with contextlib.closing(sqlite3.connect(path)) as conn:
        rows = conn.execute("SELECT post_id FROM caption_results WHERE job_id = ? ORDER BY id", (job_id,))
        return [row[0] for row in rows]


def numbers(client: Client, status: str, job_id: str) -> list[int]:
    return [
        p["current_post"]
        for p in client.inbox.of("caption_progress")
        if p["status"] == status and p["job_id"] == job_id
    ]


async def test_a_job_survives_sigkill_and_continues_with_the_first_post_not_stored(
    node: Node, mastodon: FakeMastodon, ollama: FakeOllama
) -> None:
    posts = slow_posts(mastodon, ollama, 10)
    alice = await node.session("alice")
    platform_id = await connect_platform(node.url, alice.user_id, mastodon.base_url, TOKEN)
    before = await node.client(alice)
    try:
        job_id = await start_job(node.url, alice.user_id, platform_id)
        for _ in range(3):
            await before.inbox.next("caption_generated", timeout=15)
        await node.kill()
    finally:
        await before.close()
    stored = stored_results(node, job_id)
    done = len(stored)
    assert stored == [p.post_id for p in posts[:done]]
    seen_before = [g["post_id"] for g in before.inbox.of("caption_generated")]
    # each result is committed before its event is sent: everything the user saw is stored
    assert 3 <= len(seen_before) <= done < 10 and set(seen_before) <= set(stored)

    # Hold the instance until the new client is connected, so it sees the restarted run from its first event.
    mastodon.hold = asyncio.Event()
    await node.start()
    after = await node.client(alice)
    mastodon.hold.set()
    try:
        completed = await after.inbox.next("caption_generation_completed", timeout=20)
    finally:
        await after.close()
    assert completed == completed | {
        "job_id": job_id,
        "status": "completed",
        "total_posts_processed": 10,
        "successful_captions": 10,
        "failed_captions": 0,
    }
    assert not after.inbox.of("caption_generation_started")  # a continuation, not a new start
    # The running time is banked with every stored post, so the SIGKILL loses at most the post in flight.
    seen = sum(g["processing_time"] for g in before.inbox.of("caption_generated") + after.inbox.of("caption_generated"))
    assert completed["total_processing_time"] >= seen - 0.4
    # `syncing` may go out before the client is back; the pages were held until it was
    assert [s["status"] for s in after.inbox.of("platform_connection_status")][-1] == "connected"
    assert [p["current_item"] for p in after.inbox.of("platform_sync_progress")] == [4, 8, 10]
    assert numbers(after, "processing", job_id) == list(range(done + 1, 11))
    assert numbers(after, "captioned", job_id) == list(range(done + 1, 11))
    seen_after = [g["post_id"] for g in after.inbox.of("caption_generated")]
    assert seen_after == [p.post_id for p in posts[done:]]

    job = await get_job(node.url, job_id)
    assert job["status"] == "completed" and job["processed"] == 10 and job["successful_captions"] == 10
    assert [r["post_id"] for r in job["results"]] == [p.post_id for p in posts]
    assert [r["caption"] for r in job["results"]] == [f"Caption of post {p.post_id}." for p in posts]
    assert stored_results(node, job_id) == [p.post_id for p in posts]

    # Ollama was asked once per image, except perhaps the one in flight at the kill: the first not stored.
    asked = [len(ollama.generations_of(p.image)) for p in posts]
    assert asked[:done] == [1] * done and asked[done] in (1, 2) and asked[done + 1 :] == [1] * (9 - done), asked


async def test_pause_and_cancel_are_durable_and_one_job_runs_per_user(
    node: Node, mastodon: FakeMastodon, ollama: FakeOllama
) -> None:
    posts = slow_posts(mastodon, ollama, 8)
    alice = await node.session("alice")
    platform_id = await connect_platform(node.url, alice.user_id, mastodon.base_url, TOKEN)

    # Pause a running job, then restart the server: it stays paused, and resumes to the end.
    client = await node.client(alice)
    try:
        first = await start_job(node.url, alice.user_id, platform_id)
        await client.inbox.next("caption_generated", timeout=15)
        reply = await client.call("pause_caption_generation", {"reason": "lunch"})
        assert reply["status"] == "paused" and reply["reason"] == "lunch" and reply["job_id"] == first
        paused = await client.inbox.next("caption_generation_paused", timeout=5)
        assert paused["job_id"] == first and paused["reason"] == "lunch"
    finally:
        await client.close()
    await node.stop()
    paused_at = len(stored_results(node, first))
    assert 1 <= paused_at < 8

    await node.start()
    client = await node.client(alice)
    try:
        status = await client.call("request_caption_status", {})
        assert status == status | {"job_id": first, "is_active": True, "status": "paused"}
        assert status["current_progress"]["current_post"] == paused_at
        refused, body = await api(
            node.url, "POST", "/api/v1/caption-jobs", {"user_id": alice.user_id, "platform_id": platform_id}
        )
        assert refused == 409 and body["data"]["error_code"] == "JOB_ALREADY_ACTIVE"
        asked = len(ollama.generated)
        # The scenario is time passing (no event marks "nothing resumed it"): five posts' worth.
        await asyncio.sleep(1.5)
        assert len(ollama.generated) == asked and not client.inbox.of("caption_generated")
        assert len(stored_results(node, first)) == paused_at

        reply = await client.call("resume_caption_generation", {})
        assert reply["status"] == "running" and reply["job_id"] == first
        await client.inbox.next("caption_generation_resumed", timeout=5)
        completed = await client.inbox.next("caption_generation_completed", timeout=15)
        assert completed == completed | {"job_id": first, "status": "completed", "total_posts_processed": 8}
        assert numbers(client, "processing", first) == list(range(paused_at + 1, 9))
        job = await get_job(node.url, first)
        assert job["status"] == "completed" and [r["post_id"] for r in job["results"]] == [p.post_id for p in posts]

        # The first job has ended: a second may start. Cancel it through the host API mid-run.
        asked_before = len(ollama.generated)
        second = await start_job(node.url, alice.user_id, platform_id)
        await client.inbox.until("caption_generated", lambda g: g["job_id"] == second, timeout=15)
        status_code, cancelled = await api(node.url, "POST", f"/api/v1/caption-jobs/{second}/cancel")
        assert status_code == 200 and cancelled["status"] == "cancelled" and cancelled["job_id"] == second
        ended = await client.inbox.until("caption_generation_completed", lambda c: c["job_id"] == second, timeout=5)
        assert ended["status"] == "cancelled" and ended["total_posts_processed"] >= 1
        await eventually(lambda: ollama.answered >= len(ollama.generated), what="the post in flight answered")
        asked = len(ollama.generated)
        # The scenario is time passing (no event marks "asked nothing more"): five posts' worth.
        await asyncio.sleep(1.5)
        assert len(ollama.generated) == asked, "the runner kept captioning a cancelled job"
        # Nothing about the job follows its cancelled completion, and the totals it reported stand:
        # the post in flight at the cancel (if any) was asked of Ollama but neither stored nor announced.
        events_of_second = job_events(client, second)
        last = max(i for i, (name, _) in enumerate(events_of_second) if name == "caption_generation_completed")
        assert events_of_second[last + 1 :] == []
        began = numbers(client, "processing", second)
        stored = stored_results(node, second)
        assert len(stored) == ended["total_posts_processed"] < 8
        assert began[: len(stored)] == list(range(1, len(stored) + 1)) and len(began) - len(stored) in (0, 1)
        assert asked - asked_before == len(began)
        assert (await get_job(node.url, second))["processed"] == len(stored)
        again, body = await api(node.url, "POST", f"/api/v1/caption-jobs/{second}/cancel")
        assert again == 409 and body["data"]["error_code"] == "INVALID_JOB_STATE"
    finally:
        await client.close()

    # Cancelled stays cancelled across a restart: nothing resumes it.
    await node.stop()
    await node.start()
    client = await node.client(alice)
    try:
        job = await get_job(node.url, second)
        assert job["status"] == "cancelled" and ISO.match(job["finished_at"])
        status = await client.call("request_caption_status", {})
        assert status == status | {"job_id": second, "is_active": False, "status": "cancelled"}
        await asyncio.sleep(1.0)  # the scenario: time passing after a restart; a resumed job would ask Ollama
        assert len(ollama.generated) == asked and not job_events(client)
    finally:
        await client.close()
