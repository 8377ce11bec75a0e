"""Notifications and alerts on the in-memory twins: who they reach, how they are stamped, what is refused."""

from __future__ import annotations

import pytest

from application.notifications import NotifyAdmins, NotifyUser, RaiseAdminAlert
from domain.access import ADMIN_NAMESPACE, ADMIN_ROOM, USER_NAMESPACE, captions_room, personal_room
from domain.errors import DomainError, ErrorCode
from tests.unit.twins import World


@pytest.fixture
def world() -> World:
    return World()


async def test_a_user_notification_reaches_both_rooms_of_its_user_escaped_and_stamped(world: World) -> None:
    demo = await world.user("demo")
    notify = NotifyUser(world.users, world.outbox, world.tokens)
    sent = await notify({"user_id": demo.id, "title": "Ready", "message": "5 <b>new</b> captions"})
    (delivery,) = world.publisher.deliveries
    assert delivery.event == "user_notification" and delivery.namespace == USER_NAMESPACE
    assert delivery.to == (personal_room(demo.id), captions_room(demo.id))
    assert delivery.payload is sent and sent["message"] == "5 &lt;b&gt;new&lt;/b&gt; captions"
    assert sent["notification_id"].startswith("notif_") and sent["message_id"] != sent["notification_id"]
    assert sent["timestamp"] == "2023-11-14T22:13:20.000Z"  # the fake clock's time


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"user_id": 99, "title": "t", "message": "m"}, ErrorCode.NOT_FOUND),
        ({"user_id": 2, "title": "t", "message": "m"}, ErrorCode.NOT_FOUND),  # inactive
        ({"user_id": 1, "title": "t"}, ErrorCode.INVALID_MESSAGE),
        ({"user_id": 1, "title": "t", "message": "m", "action_url": "javascript:alert(1)"}, ErrorCode.INVALID_MESSAGE),
        ({"user_id": 1, "title": "t", "message": "m", "type": "shouting"}, ErrorCode.INVALID_MESSAGE),
        ("not an object", ErrorCode.INVALID_MESSAGE),
    ],
)
async def test_a_refused_user_notification_reaches_nobody(world: World, body: object, expected: ErrorCode) -> None:
    await world.user("demo")
    await world.user("sleepy", active=False)
    with pytest.raises(DomainError) as caught:
        await NotifyUser(world.users, world.outbox, world.tokens)(body)
    assert caught.value.code is expected
    assert world.publisher.deliveries == []


async def test_admin_notifications_and_alerts_reach_the_admin_room_only(world: World) -> None:
    note = await NotifyAdmins(world.outbox, world.tokens)({"title": "Maintenance", "message": "at 2:00"})
    alert = await RaiseAdminAlert(world.outbox, world.tokens)(
        {"severity": "critical", "component": "database", "title": "Pool", "message": "exhausted"}
    )
    assert [(d.event, d.namespace, d.to) for d in world.publisher.deliveries] == [
        ("admin_notification", ADMIN_NAMESPACE, ADMIN_ROOM),
        ("admin_alert", ADMIN_NAMESPACE, ADMIN_ROOM),
    ]
    assert note["notification_id"].startswith("admin_notif_") and alert["alert_id"].startswith("alert_critical_")


async def test_an_alert_with_an_unknown_severity_or_component_is_refused(world: World) -> None:
    raise_alert = RaiseAdminAlert(world.outbox, world.tokens)
    for bad in ({"severity": "apocalyptic", "component": "database"}, {"severity": "info", "component": "toaster"}):
        with pytest.raises(DomainError) as caught:
            await raise_alert({**bad, "title": "t", "message": "m"})
        assert caught.value.code is ErrorCode.INVALID_MESSAGE
    assert world.publisher.deliveries == []
