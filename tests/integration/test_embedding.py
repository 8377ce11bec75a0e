"""The use cases run inside another host's Python process, without the socket server."""

from __future__ import annotations

import bootstrap
from adapters.outbound.memory.publisher import RecordingPublisher
from domain.identity import Role
from domain.platforms import PlatformType
from tests.integration.waiting import eventually


async def test_a_host_runs_a_caption_job_and_sends_notifications_without_a_socket_server(tmp_path) -> None:
    publisher = RecordingPublisher()
    settings = bootstrap.ExplicitSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'host.db'}",
        demo_caption_seconds=0.0,
        demo_page_delay=0.0,
        demo_posts=4,
        demo_failure_every=0,
    )
    container = bootstrap.embedded(settings, publisher)
    async with bootstrap.running(container):
        alice = await container.add_user()("alice", Role.REVIEWER)
        platform = await container.platforms().add(
            alice.id, "Alice's Pixelfed", PlatformType.PIXELFED, "https://px.example"
        )
        job = await container.start_job()(alice.id, platform.id)
        await eventually(lambda: bool(publisher.events("caption_generation_completed")), what="the job completed")
        completed = publisher.events("caption_generation_completed")
        assert completed and completed[0]["successful_captions"] == 4 and completed[0]["job_id"] == job.id
        assert next(d.to for d in publisher.deliveries if d.event == "caption_generated") == (
            f"user_{alice.id}",
            f"user_{alice.id}_captions",
        )
        sent = await container.notify_user()({"user_id": alice.id, "title": "Done", "message": "4 captions"})
        assert publisher.events("user_notification") == [sent]


async def test_the_memory_backend_needs_no_database(tmp_path) -> None:
    publisher = RecordingPublisher()
    container = bootstrap.embedded(bootstrap.ExplicitSettings(database_url="memory"), publisher)
    async with bootstrap.running(container):
        users = await container.seed_demo()()
        assert [u.username for u in users] == ["demo", "admin"]
        session = await container.issue_session()("demo", 60)
        assert await container.sessions().get(session.id) == session
