"""The gate's order of checks, on in-memory adapters and a fake clock (no socket server)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from dependency_injector import providers

import bootstrap
from adapters.outbound.memory.publisher import RecordingPublisher, RecordingTransport
from application.client_events import UNANSWERED


@dataclass
class FakeClock:
    t: float = 1_000_000.0

    def now(self) -> float:
        return self.t


@pytest.fixture
async def world():  # type: ignore[no-untyped-def]
    clock = FakeClock()
    transport = RecordingTransport()
    container = bootstrap.embedded(
        bootstrap.ExplicitSettings(database_url="memory", rate_limit_messages=3, rate_limit_window_seconds=10),
        RecordingPublisher(),
        transport,
    )
    container.clock.override(providers.Object(clock))
    async with bootstrap.running(container):
        await container.seed_demo()()
        session = await container.issue_session()("demo", 60)
        await container.connect()("sid1", "eio1", "/", session.id, None, "127.0.0.1")
        yield container, clock, transport, session


async def test_rate_limit_counts_before_csrf_and_refusals_do_not_count(world) -> None:  # type: ignore[no-untyped-def]
    container, clock, transport, session = world
    gate = container.gate()
    ok = {"csrf_token": session.csrf_token}
    assert (await gate.handle("sid1", "request_caption_status", (ok,)))["is_active"] is False
    assert (await gate.handle("sid1", "request_caption_status", ({},)))["error_code"] == "CSRF_TOKEN_INVALID"
    assert (await gate.handle("sid1", "request_caption_status", (ok,)))["is_active"] is False
    refused = await gate.handle("sid1", "request_caption_status", (ok,))
    assert refused["error_code"] == "RATE_LIMIT_EXCEEDED" and refused["remaining"] == 0
    clock.t += 5
    assert (await gate.handle("sid1", "request_caption_status", (ok,)))["error_code"] == "RATE_LIMIT_EXCEEDED"
    clock.t += 5.001  # the first three hits have left the window; the refused ones never entered it
    assert (await gate.handle("sid1", "request_caption_status", (ok,)))["is_active"] is False
    assert [d.event for d in transport.sent].count("rate_limit_exceeded") == 0  # answered by the ack alone


async def test_a_refusal_is_answered_once_and_repeats_go_unanswered(world) -> None:  # type: ignore[no-untyped-def]
    container, clock, transport, session = world
    gate = container.gate()
    ok = {"csrf_token": session.csrf_token}
    for _ in range(3):
        await gate.handle("sid1", "request_caption_status", (ok,))
    assert (await gate.handle("sid1", "request_caption_status", (ok,), ack=False))["remaining"] == 0
    assert await gate.handle("sid1", "request_caption_status", (ok,), ack=True) is UNANSWERED
    assert await gate.handle("sid1", "request_caption_status", (ok,), ack=False) is UNANSWERED
    assert [d.event for d in transport.sent].count("rate_limit_exceeded") == 1  # the event, as no ack was asked
    clock.t += 1.001
    assert (await gate.handle("sid1", "request_caption_status", (ok,)))["error_code"] == "RATE_LIMIT_EXCEEDED"
    assert [d.event for d in transport.sent].count("rate_limit_exceeded") == 1
    assert container.security().counts["rate_limited"] == 4


async def test_an_expired_session_is_ended_before_its_event_runs(world) -> None:  # type: ignore[no-untyped-def]
    container, clock, transport, session = world
    clock.t = session.expires_at
    assert await container.gate().handle("sid1", "join_room", ({"room_name": "user_1"},)) is None
    assert [d.event for d in transport.sent] == ["auth_error"]
    assert transport.disconnected == ["sid1"]
    assert transport.rooms["sid1"] == {f"user_{session.user_id}"}  # the join never ran


async def test_events_of_unknown_sockets_are_ignored(world) -> None:  # type: ignore[no-untyped-def]
    container, *_ = world
    assert await container.gate().handle("ghost", "request_caption_status", ({},)) is None
