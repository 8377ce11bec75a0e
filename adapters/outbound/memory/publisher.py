"""A publisher and transport that record what they were asked to deliver, for tests and embedding."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Delivery:
    event: str
    payload: dict[str, Any]
    namespace: str
    to: str | tuple[str, ...]


@dataclass
class RecordingPublisher:
    deliveries: list[Delivery] = field(default_factory=list)

    async def publish(self, event: str, payload: dict[str, Any], *, namespace: str, room: str | list[str]) -> None:
        to = room if isinstance(room, str) else tuple(room)
        self.deliveries.append(Delivery(event, payload, namespace, to))

    def events(self, name: str) -> list[dict[str, Any]]:
        return [d.payload for d in self.deliveries if d.event == name]


@dataclass
class RecordingTransport:
    """Stands in for the socket server when use cases run without one."""

    sent: list[Delivery] = field(default_factory=list)
    rooms: dict[str, set[str]] = field(default_factory=dict)
    disconnected: list[str] = field(default_factory=list)

    async def enter_room(self, sid: str, room: str, namespace: str) -> None:
        self.rooms.setdefault(sid, set()).add(room)

    async def leave_room(self, sid: str, room: str, namespace: str) -> None:
        self.rooms.get(sid, set()).discard(room)

    async def send(self, sid: str, event: str, payload: dict[str, Any], namespace: str) -> None:
        self.sent.append(Delivery(event, payload, namespace, sid))

    async def disconnect(self, sid: str, namespace: str) -> None:
        self.disconnected.append(sid)
