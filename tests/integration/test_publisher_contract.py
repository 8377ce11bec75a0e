"""One contract for the Publisher port, run on one node (in-process manager) and across two nodes on Redis."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from domain import messages
from domain.access import ADMIN_NAMESPACE, ADMIN_ROOM, captions_room, personal_room
from domain.events import ADMIN_ALERT_SCHEMA, USER_NOTIFICATION_SCHEMA
from domain.validation import validate
from tests.integration.harness import Server, serve, settings_for

NOW = "2026-01-01T00:00:00.000Z"


@contextlib.asynccontextmanager
async def nodes(kind: str, tmp_path: Path) -> AsyncIterator[tuple[Server, Server]]:
    """(publishing node, receiving node): the same node for memory, two nodes for Redis."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'publisher.db'}"
    if kind == "memory":
        async with serve(settings_for(url)) as only:
            yield only, only
        return
    channel = f"vrt-pub-{uuid.uuid4().hex[:8]}"
    common = {"redis_url": "redis://127.0.0.1:6379/0", "redis_channel": channel}
    async with (
        serve(settings_for(url, node_id="a", **common)) as a,
        serve(settings_for(url, node_id="b", **common)) as b,
    ):
        yield a, b


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def pair(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[Server, Server]]:
    async with nodes(request.param, tmp_path) as both:
        yield both


def notification(user_id: int, title: str) -> dict[str, Any]:
    """A user_notification as the service sends it (the run checks every received payload against AsyncAPI)."""
    fields = validate(USER_NOTIFICATION_SCHEMA, {"user_id": user_id, "title": title, "message": title})
    return {**messages.user_notification(fields, f"notif_{title}"), "timestamp": NOW, "message_id": f"m-{title}"}


def alert(title: str) -> dict[str, Any]:
    fields = validate(
        ADMIN_ALERT_SCHEMA, {"severity": "info", "component": "database", "title": title, "message": title}
    )
    return {**messages.admin_alert(fields, f"alert_info_{title}"), "timestamp": NOW, "message_id": f"m-{title}"}


async def test_a_room_list_reaches_each_member_once_and_nobody_else(pair: tuple[Server, Server]) -> None:
    sender, receiver = pair
    demo = await receiver.session("demo")
    other = await receiver.session("admin")
    owner = await receiver.client(demo)
    bystander = await receiver.client(other)
    try:
        await owner.call("join_room", {"room_name": captions_room(demo.user_id)})
        publisher = sender.container.publisher()
        for n in range(3):
            await publisher.publish(
                "user_notification",
                notification(demo.user_id, str(n)),
                namespace="/",
                room=[personal_room(demo.user_id), captions_room(demo.user_id)],
            )
        # A marker to each, published after: a duplicate or a stray would arrive before it (one ordered path).
        for member in (demo, other):
            await publisher.publish(
                "user_notification",
                notification(member.user_id, "end"),
                namespace="/",
                room=personal_room(member.user_id),
            )
        await owner.inbox.until("user_notification", lambda d: d["title"] == "end")
        await bystander.inbox.until("user_notification", lambda d: d["title"] == "end")
        # in order, once each
        assert [d["title"] for d in owner.inbox.of("user_notification")] == ["0", "1", "2", "end"]
        assert [d["title"] for d in bystander.inbox.of("user_notification")] == ["end"]
    finally:
        await owner.close()
        await bystander.close()


async def test_namespaces_are_separate(pair: tuple[Server, Server]) -> None:
    sender, receiver = pair
    admin_session = await receiver.session("admin")
    on_admin = await receiver.client(admin_session, ADMIN_NAMESPACE)
    on_user = await receiver.client(admin_session)
    try:
        await sender.container.publisher().publish(
            "admin_alert", alert("one"), namespace=ADMIN_NAMESPACE, room=ADMIN_ROOM
        )
        assert (await on_admin.inbox.next("admin_alert"))["title"] == "one"
        # A marker published after, to the same user on `/`: the alert, had it leaked there, would come first.
        marker = notification(admin_session.user_id, "end")
        await sender.container.publisher().publish(
            "user_notification", marker, namespace="/", room=personal_room(admin_session.user_id)
        )
        await on_user.inbox.until("user_notification", lambda d: d["title"] == "end")
        assert on_user.inbox.of("admin_alert") == []
    finally:
        await on_admin.close()
        await on_user.close()
