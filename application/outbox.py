"""Stamps every outgoing payload (timestamp, message_id, correlation_id) and routes it to its audience."""

from __future__ import annotations

from application.ports import Clock, Publisher, TokenSource, Transport
from application.stamping import Stamp
from domain.access import ADMIN_NAMESPACE, ADMIN_ROOM, USER_NAMESPACE, captions_room, personal_room
from domain.messages import Payload


class Outbox:
    def __init__(self, publisher: Publisher, transport: Transport, clock: Clock, tokens: TokenSource) -> None:
        self._publisher = publisher
        self._transport = transport
        self.stamp = Stamp(clock, tokens)

    async def to_user(self, user_id: int, event: str, payload: Payload) -> Payload:
        """To every socket of the user on `/` (their personal room and their captions room)."""
        stamped = self.stamp(payload)
        await self._publisher.publish(
            event, stamped, namespace=USER_NAMESPACE, room=[personal_room(user_id), captions_room(user_id)]
        )
        return stamped

    async def to_admins(self, event: str, payload: Payload) -> Payload:
        stamped = self.stamp(payload)
        await self._publisher.publish(event, stamped, namespace=ADMIN_NAMESPACE, room=ADMIN_ROOM)
        return stamped

    async def to_socket(self, sid: str, namespace: str, event: str, payload: Payload) -> None:
        """To one socket of this node; the payload must already be stamped."""
        await self._transport.send(sid, event, payload, namespace)
