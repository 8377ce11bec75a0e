"""A caption job end to end over a real socket: every event's full payload, pause and resume, status."""

from __future__ import annotations

import asyncio
import re

from tests.integration.harness import Client, Server

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def stamped(payload: dict) -> None:
    assert ISO.match(payload["timestamp"]), payload
    assert isinstance(payload["message_id"], str) and payload["message_id"]


async def start_job(server: Server, user_id: int, **extra: object) -> str:
    status, body = await server.api("POST", "/api/v1/caption-jobs", {"user_id": user_id, **extra})
    assert status == 202, body
    return body["job_id"]


async def test_a_job_emits_every_event_with_every_field(server: Server) -> None:
    session = await server.session("demo")
    user_id = session.user_id
    client = await server.client(session)
    admin = await server.client(await server.session("admin"), "/admin")
    try:
        job_id = await start_job(server, user_id)

        syncing = await client.inbox.next("platform_connection_status")
        assert set(syncing) == {
            "user_id",
            "platform_id",
            "platform_name",
            "platform_type",
            "status",
            "last_sync",
            "timestamp",
            "message_id",
        }
        assert syncing["status"] == "syncing" and syncing["platform_type"] == "pixelfed"
        stamped(syncing)
        connected = await client.inbox.next("platform_connection_status")
        assert connected["status"] == "connected" and ISO.match(connected["last_sync"])

        sync = await client.inbox.next("platform_sync_progress")
        assert set(sync) == {
            "user_id",
            "platform_id",
            "sync_type",
            "current_item",
            "total_items",
            "progress_percentage",
            "timestamp",
            "message_id",
        }
        assert sync == sync | {
            "user_id": user_id,
            "sync_type": "posts",
            "current_item": 6,
            "total_items": 6,
            "progress_percentage": 100,
        }

        started = await client.inbox.next("caption_generation_started")
        assert set(started) == {"user_id", "job_id", "total_posts", "estimated_duration", "timestamp", "message_id"}
        assert started["total_posts"] == 6 and started["job_id"] == job_id
        assert isinstance(started["estimated_duration"], int) and started["estimated_duration"] >= 0

        progress = await client.inbox.next("caption_progress")
        assert set(progress) == {
            "user_id",
            "job_id",
            "current_post",
            "total_posts",
            "progress_percentage",
            "current_post_id",
            "current_post_url",
            "status",
            "estimated_time_remaining",
            "timestamp",
            "message_id",
        }
        assert progress["current_post"] == 1 and progress["status"] == "processing"
        # the reference's percentages: post n of t being processed is n/t (post 5 of 25 -> 20 %)
        assert progress["progress_percentage"] == 16 and progress["current_post_url"].startswith("https://")

        generated = await client.inbox.next("caption_generated")
        assert set(generated) == {
            "user_id",
            "job_id",
            "post_id",
            "post_url",
            "caption",
            "confidence_score",
            "processing_time",
            "timestamp",
            "message_id",
        }
        assert generated["post_id"] == progress["current_post_id"]
        assert generated["caption"] and 0 < generated["confidence_score"] <= 1
        assert generated["processing_time"] > 0

        # The demo generator fails every 5th post (test settings): a retryable Ollama error.
        failure = await client.inbox.next("caption_generation_error", timeout=10)
        assert set(failure) == {
            "user_id",
            "job_id",
            "post_id",
            "error_type",
            "error_message",
            "retry_possible",
            "timestamp",
            "message_id",
        }
        assert failure["error_type"] == "OLLAMA_CONNECTION_ERROR" and failure["retry_possible"] is True

        completed = await client.inbox.next("caption_generation_completed", timeout=10)
        assert set(completed) == {
            "user_id",
            "job_id",
            "status",
            "total_posts_processed",
            "successful_captions",
            "failed_captions",
            "total_processing_time",
            "average_processing_time",
            "timestamp",
            "message_id",
        }
        assert completed["total_posts_processed"] == 6
        assert completed["successful_captions"] == 5 and completed["failed_captions"] == 1
        assert completed["total_processing_time"] > 0
        assert abs(completed["average_processing_time"] - completed["total_processing_time"] / 6) < 0.01

        last = client.inbox.of("caption_progress")[-1]
        assert last["progress_percentage"] == 100 and last["current_post"] == 6
        assert len(client.inbox.of("caption_generated")) == 5

        await admin.inbox.until("user_activity_update", lambda a: a["activity_type"] == "caption_generation_completed")
        kinds = [a["activity_type"] for a in admin.inbox.of("user_activity_update") if a["user_id"] == user_id]
        assert "caption_generation_started" in kinds and "caption_generation_completed" in kinds
        begun = next(
            a for a in admin.inbox.of("user_activity_update") if a["activity_type"] == "caption_generation_started"
        )
        assert begun["details"] == {"job_id": job_id, "posts_count": 6, "platform": "pixelfed"}
        assert begun["username"] == "demo"
    finally:
        await client.close()
        await admin.close()


async def test_events_reach_only_their_owner(server: Server) -> None:
    owner = await server.session("demo")
    admin_session = await server.session("admin")
    owner_client = await server.client(owner)
    other = await server.client(admin_session)  # the admin on `/` is another user there
    try:
        await start_job(server, owner.user_id)
        await owner_client.inbox.next("caption_generation_completed", timeout=10)
        await server.marker(other, admin_session.user_id)  # the job's events, had they leaked, came first
        assert not other.inbox.of("caption_progress")
        assert not other.inbox.of("caption_generated")
    finally:
        await owner_client.close()
        await other.close()


async def _pause_cycle(server: Server, client: Client, user_id: int) -> None:
    await client.inbox.next("caption_generated", timeout=10)
    reply = await client.call("pause_caption_generation", {"reason": "user_requested", "message_id": "m-pause-1"})
    assert reply["status"] == "paused" and reply["correlation_id"] == "m-pause-1"
    paused = await client.inbox.next("caption_generation_paused", timeout=10)
    assert paused["reason"] == "user_requested"
    seen = len(client.inbox.of("caption_generated"))
    # The scenario is time passing while paused (no event marks "did not caption"): a dozen posts' worth.
    await asyncio.sleep(0.6)
    assert len(client.inbox.of("caption_generated")) == seen, "a caption arrived while the job was paused"
    status = await client.call("request_caption_status", {})
    assert status["is_active"] is True and status["status"] == "paused"
    # current_post means what it means in caption_progress: paused between posts, the last one reached
    last = client.inbox.of("caption_progress")[-1]
    assert last["status"] in ("captioned", "failed")
    assert status["current_progress"] == {
        "current_post": last["current_post"],
        "total_posts": last["total_posts"],
        "progress_percentage": last["progress_percentage"],
    }
    reply = await client.call("resume_caption_generation", {})
    assert reply["status"] == "running"
    await client.inbox.next("caption_generation_resumed", timeout=10)


async def test_pause_stops_between_posts_and_resume_continues_where_it_stopped(server: Server) -> None:
    session = await server.session("demo")
    client = await server.client(session)
    try:
        job_id = await start_job(server, session.user_id, max_posts=6)
        await _pause_cycle(server, client, session.user_id)
        completed = await client.inbox.next("caption_generation_completed", timeout=10)
        assert completed["total_posts_processed"] == 6
        results = await server.container.jobs().results(job_id)
        assert sorted(r.post_id for r in results) == sorted({r.post_id for r in results})
        assert len(results) == 6
        posts = [g["post_id"] for g in client.inbox.of("caption_generated")]
        assert len(posts) == len(set(posts)) == 5
        processing = [p["current_post"] for p in client.inbox.of("caption_progress") if p["status"] == "processing"]
        assert processing == [1, 2, 3, 4, 5, 6]
    finally:
        await client.close()


async def test_caption_status_answers_and_survives_a_restart(tmp_path) -> None:
    from tests.integration.harness import serve, settings_for

    url = f"sqlite+aiosqlite:///{tmp_path / 'restart.db'}"
    async with serve(settings_for(url)) as first:
        session = await first.session("demo", ttl=3600)
        client = await first.client(session)
        idle = await client.call("request_caption_status", {"user_id": session.user_id})
        assert idle == idle | {"user_id": session.user_id, "is_active": False, "status": None}
        # an object even without a job: the reference's `data.current_progress.progress_percentage` works
        assert idle["current_progress"] == {"current_post": 0, "total_posts": 0, "progress_percentage": 0}
        await start_job(first, session.user_id)
        await client.inbox.next("caption_generation_completed", timeout=10)
        await client.close()
    async with serve(settings_for(url)) as second:
        client = await second.client(session)
        try:
            status = await client.call("request_caption_status", {"message_id": "s1", "correlation_id": "mine-1"})
            assert set(status) >= {"user_id", "is_active", "current_progress", "timestamp", "message_id"}
            assert status["is_active"] is False and status["status"] == "completed"
            assert status["current_progress"] == {"current_post": 6, "total_posts": 6, "progress_percentage": 100}
            assert status["correlation_id"] == "mine-1"  # the client's own id wins over its message_id
            reply = client.inbox.of("caption_status_response")[-1]
            assert reply == status
        finally:
            await client.close()


async def test_a_paused_job_stays_paused_across_a_restart_and_resumes(tmp_path) -> None:
    from tests.integration.harness import serve, settings_for

    url = f"sqlite+aiosqlite:///{tmp_path / 'paused.db'}"
    async with serve(settings_for(url, demo_caption_seconds=0.2)) as first:
        session = await first.session("demo")
        client = await first.client(session)
        await start_job(first, session.user_id)
        await client.inbox.next("caption_generated", timeout=10)
        await client.call("pause_caption_generation", {})
        await client.inbox.next("caption_generation_paused", timeout=10)
        await client.close()
    async with serve(settings_for(url)) as second:
        client = await second.client(session)
        try:
            status = await client.call("request_caption_status", {})
            assert status["status"] == "paused"
            before = status["current_progress"]["current_post"]
            await client.call("resume_caption_generation", {})
            completed = await client.inbox.next("caption_generation_completed", timeout=10)
            assert completed["total_posts_processed"] == 6
            numbers = [p["current_post"] for p in client.inbox.of("caption_progress") if p["status"] == "processing"]
            assert numbers == list(range(before + 1, 7))
        finally:
            await client.close()
