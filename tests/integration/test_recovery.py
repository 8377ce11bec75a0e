"""Connection-state recovery with node's stock socket.io-client on one node: same socket, every missed event once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio

from tests.integration.harness import Server, serve, settings_for
from tests.integration.node_driver import Line, NodeClient, node_client


@pytest.fixture
async def recovering(tmp_path: Path) -> AsyncIterator[Server]:
    settings = settings_for(
        f"sqlite+aiosqlite:///{tmp_path / 'server.db'}",
        demo_posts=12,
        demo_caption_seconds=0.08,
        demo_failure_every=0,
        system_status_interval=60,
        recovery_window_seconds=5,
    )
    async with serve(settings) as running:
        yield running


async def open_page(client: NodeClient, server: Server, session: Any, **options: Any) -> Line:
    await client.send(cmd="open", url=server.url, session=session.id, csrf=session.csrf_token, **options)
    return await client.wait_for(lambda line: line["type"] in ("connect", "connect_error"))


async def start_job(server: Server, user_id: int) -> str:
    status, body = await server.api("POST", "/api/v1/caption-jobs", {"user_id": user_id})
    assert status == 202, body
    return str(body["job_id"])


async def notify(server: Server, user_id: int, message: str) -> None:
    await server.container.notify_user()({"user_id": user_id, "title": "t", "message": message})


def offsets(lines: list[Line]) -> list[str]:
    return [line["offset"] for line in lines]


def completed(line: Line) -> bool:
    return line["type"] == "event" and line["event"] == "caption_generation_completed"


async def test_a_transport_dropped_mid_job_recovers_the_socket_and_every_missed_event(recovering: Server) -> None:
    session = await recovering.session("demo")
    async with node_client() as watcher, node_client() as page:
        assert (await open_page(watcher, recovering, session))["type"] == "connect"
        first = await open_page(page, recovering, session, reconnectionDelay=300)
        await start_job(recovering, session.user_id)
        await page.wait_for(lambda line: line["type"] == "event" and line["event"] == "caption_generated")
        await page.send(cmd="drop")
        await page.wait_for(lambda line: line["type"] == "disconnect")
        await page.wait_for(completed, timeout=15)
        await watcher.wait_for(completed, timeout=15)

        again = page.connects()[-1]
        assert again["recovered"] is True and again["id"] == first["id"]
        # Exactly what a never-dropped page of the same user saw: every event once, in order.
        assert offsets(page.events()) == offsets(watcher.events())
        assert [e["event"] for e in page.events()] == [e["event"] for e in watcher.events()]
        assert len(page.events("caption_generated")) == 12
        offsets_seen = [int(o) for o in offsets(page.events())]
        assert offsets_seen == sorted(set(offsets_seen))
        # The rooms came back too: live events after the recovery still arrive, and join_room answers.
        mark = page.mark()
        await notify(recovering, session.user_id, "after the blink")
        await page.wait_for(lambda line: line["type"] == "event" and line["event"] == "user_notification", since=mark)


async def test_zero_events_before_the_drop_still_recovers_and_twice_in_a_row(recovering: Server) -> None:
    session = await recovering.session("demo")
    async with node_client() as watcher, node_client() as page:
        await open_page(watcher, recovering, session)
        first = await open_page(page, recovering, session, reconnectionDelay=600)
        assert page.events() == []
        await page.send(cmd="drop")  # no event has reached this page yet: the client sends no offset
        await page.wait_for(lambda line: line["type"] == "disconnect")
        await notify(recovering, session.user_id, "while away")
        second = await page.wait_for(lambda line: line["type"] == "connect", since=page.lines.index(first) + 1)
        assert second["recovered"] is True and second["id"] == first["id"]
        missed = await page.wait_for(lambda line: line["type"] == "event" and line["event"] == "user_notification")
        assert missed["data"]["message"] == "while away"

        mark = page.mark()
        await page.send(cmd="drop")
        await page.wait_for(lambda line: line["type"] == "disconnect", since=mark)
        await start_job(recovering, session.user_id)
        await page.wait_for(completed, timeout=15)
        await watcher.wait_for(completed, timeout=15)
        third = page.connects()[-1]
        assert third["recovered"] is True and third["id"] == first["id"] and len(page.connects()) == 3
        assert offsets(page.events()) == offsets(watcher.events())


async def test_after_the_window_the_reconnect_is_fresh_and_nothing_is_replayed(tmp_path: Path) -> None:
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'server.db'}", recovery_window_seconds=0.3)
    async with serve(settings) as server, node_client() as page:
        session = await server.session("demo")
        first = await open_page(page, server, session, reconnectionDelay=1500)
        await notify(server, session.user_id, "seen")
        await page.wait_for(lambda line: line["type"] == "event")
        await page.send(cmd="drop")
        await page.wait_for(lambda line: line["type"] == "disconnect")
        await notify(server, session.user_id, "missed")
        again = await page.wait_for(lambda line: line["type"] == "connect", since=page.lines.index(first) + 1)
        assert again["recovered"] is False and again["id"] != first["id"]
        # A fresh connection gets live events, never a replay of what it missed.
        await notify(server, session.user_id, "live")
        live = await page.wait_for(lambda line: line["type"] == "event" and line["data"]["message"] == "live")
        messages = [e["data"]["message"] for e in page.events("user_notification")]
        assert messages == ["seen", "live"] and live["offset"] is not None


async def test_a_session_revoked_meanwhile_is_not_recovered(recovering: Server) -> None:
    session = await recovering.session("demo")
    async with node_client() as page:
        first = await open_page(page, recovering, session, reconnectionDelay=800)
        await page.send(cmd="drop")
        await page.wait_for(lambda line: line["type"] == "disconnect")
        status, _ = await recovering.api("DELETE", f"/api/v1/sessions/{session.id}")
        assert status == 200
        # Refused the reference's way (REFUSAL_MODE=event): a fresh, unrecovered connection hears auth_error.
        refused = await page.wait_for(lambda line: line["type"] == "event" and line["event"] == "auth_error")
        assert refused["data"]["error_code"] == "AUTH_INVALID_SESSION"
        second = page.connects()[-1]
        assert len(page.connects()) == 2 and second["recovered"] is False and second["id"] != first["id"]
        await page.wait_for(lambda line: line["type"] == "disconnect" and line["reason"] == "io server disconnect")
        assert [e["event"] for e in page.events()] == ["auth_error"] and first["recovered"] is False


async def test_a_fresh_page_resyncs_from_its_own_jobs_results_only(recovering: Server) -> None:
    demo, admin = await recovering.session("demo"), await recovering.session("admin")
    async with node_client() as page:
        await open_page(page, recovering, demo)
        job_id = await start_job(recovering, demo.user_id)
        await page.wait_for(completed, timeout=15)

    async def read(session: Any) -> tuple[int, Any]:
        async with (
            aiohttp.ClientSession(cookies={"session": session.id}) as http,
            http.get(
                f"{recovering.url}/session/caption-jobs/{job_id}", headers={"X-CSRF-Token": session.csrf_token}
            ) as answer,
        ):
            return answer.status, await answer.json()

    status, body = await read(demo)
    assert status == 200 and body["job_id"] == job_id and len(body["results"]) == 12
    assert all(r["caption"] for r in body["results"])
    status, body = await read(admin)  # someone else's job: not found, whoever asks
    assert status == 404 and body["data"]["error_code"] == "NOT_FOUND"


async def test_a_pid_is_only_given_back_to_its_own_session_and_only_once(recovering: Server) -> None:
    victim, thief = await recovering.session("demo"), await recovering.session("admin")
    async with node_client() as page:
        first = await open_page(page, recovering, victim, reconnectionDelay=5000)
        state = next(s for s in recovering.container.recovery().live() if s.session_id == victim.id)
        await page.send(cmd="drop")
        await page.wait_for(lambda line: line["type"] == "disconnect")
        await notify(recovering, victim.user_id, "for the victim only")

        stranger = socketio.AsyncClient(reconnection=False)
        received: list[Any] = []
        arrived = asyncio.Event()

        def on_any(event: str, *_args: Any) -> None:
            received.append(event)
            arrived.set()

        stranger.on("*", on_any)
        await stranger.connect(
            recovering.url,
            auth={"session_id": thief.id, "csrf_token": thief.csrf_token, "pid": state.pid, "offset": "0"},
            transports=["websocket"],
            wait_timeout=5,
        )
        try:
            assert stranger.get_sid("/") != first["id"]  # a fresh connection of its own
            await notify(recovering, thief.user_id, "for the thief")
            await asyncio.wait_for(arrived.wait(), 5)
            assert received == ["user_notification"]  # its own, nothing of the victim's
        finally:
            await stranger.disconnect()
        # The pid was spent by that attempt: the victim's own reconnect is fresh.
        again = await page.wait_for(lambda line: line["type"] == "connect", since=page.lines.index(first) + 1)
        assert again["recovered"] is False
        assert [e["data"]["message"] for e in page.events("user_notification")] == []


async def test_more_missed_events_than_the_replay_budget_give_a_fresh_connection(tmp_path: Path) -> None:
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'server.db'}", recovery_max_replay=3)
    async with serve(settings) as server, node_client() as page:
        session = await server.session("demo")
        first = await open_page(page, server, session, reconnectionDelay=1500)
        await page.send(cmd="drop")
        await page.wait_for(lambda line: line["type"] == "disconnect")
        for n in range(4):
            await notify(server, session.user_id, f"missed {n}")
        again = await page.wait_for(lambda line: line["type"] == "connect", since=page.lines.index(first) + 1)
        assert again["recovered"] is False  # never a partial replay
        await notify(server, session.user_id, "live")
        await page.wait_for(lambda line: line["type"] == "event" and line["data"]["message"] == "live")
        assert [e["data"]["message"] for e in page.events("user_notification")] == ["live"]
