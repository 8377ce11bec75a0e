"""The Publisher port over a Socket.IO client manager: how a worker, which serves no sockets, emits."""

from __future__ import annotations

from typing import Any


class ManagerPublisher:
    def __init__(self, manager: Any) -> None:
        self._manager = manager

    async def publish(self, event: str, payload: dict[str, Any], *, namespace: str, room: str | list[str]) -> None:
        await self._manager.emit(event, payload, namespace=namespace, room=room)
