"""Notifications and alerts sent by host applications or raised by the service itself."""

from __future__ import annotations

from typing import Any

from application.outbox import Outbox
from application.ports import TokenSource, UserRepository
from domain import events, messages
from domain.errors import DomainError, ErrorCode
from domain.events import ADMIN_ALERT_SCHEMA, ADMIN_NOTIFICATION_SCHEMA, USER_NOTIFICATION_SCHEMA
from domain.messages import Payload
from domain.validation import validate


class NotifyUser:
    def __init__(self, users: UserRepository, outbox: Outbox, tokens: TokenSource) -> None:
        self._users = users
        self._outbox = outbox
        self._tokens = tokens

    async def __call__(self, body: Any) -> Payload:
        fields = validate(USER_NOTIFICATION_SCHEMA, body)
        user = await self._users.get(fields["user_id"])
        if user is None or not user.active:
            raise DomainError(ErrorCode.NOT_FOUND, "No such active user", user_id=fields["user_id"])
        payload = messages.user_notification(fields, "notif_" + self._tokens.message_id())
        return await self._outbox.to_user(user.id, events.USER_NOTIFICATION, payload)


class NotifyAdmins:
    def __init__(self, outbox: Outbox, tokens: TokenSource) -> None:
        self._outbox = outbox
        self._tokens = tokens

    async def __call__(self, body: Any) -> Payload:
        fields = validate(ADMIN_NOTIFICATION_SCHEMA, body)
        payload = messages.admin_notification(fields, "admin_notif_" + self._tokens.message_id())
        return await self._outbox.to_admins(events.ADMIN_NOTIFICATION, payload)


class RaiseAdminAlert:
    def __init__(self, outbox: Outbox, tokens: TokenSource) -> None:
        self._outbox = outbox
        self._tokens = tokens

    async def __call__(self, body: Any) -> Payload:
        return await self.raise_checked(validate(ADMIN_ALERT_SCHEMA, body))

    async def raise_checked(self, fields: dict[str, Any]) -> Payload:
        alert_id = f"alert_{fields['severity']}_{self._tokens.message_id()}"
        return await self._outbox.to_admins(events.ADMIN_ALERT, messages.admin_alert(fields, alert_id))
