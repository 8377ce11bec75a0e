"""join_room and leave_room: rooms scoped to the caller's own user id, any room for admins."""

from __future__ import annotations

from application.client_events import Reply
from application.commands import JoinRoomCommand, LeaveRoomCommand
from application.connections import Connection
from application.ports import Transport
from domain import events, messages
from domain.access import check_room_access


class JoinRoom:
    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def __call__(self, conn: Connection, command: JoinRoomCommand) -> Reply:
        room = command.room_name
        check_room_access(conn.user, room)
        if room not in conn.rooms:
            await self._transport.enter_room(conn.sid, room, conn.namespace)
            conn.rooms = conn.rooms | {room}
        return Reply(events.ROOM_JOINED, messages.room_joined(room))


class LeaveRoom:
    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def __call__(self, conn: Connection, command: LeaveRoomCommand) -> Reply:
        room = command.room_name
        check_room_access(conn.user, room)
        await self._transport.leave_room(conn.sid, room, conn.namespace)
        conn.rooms = conn.rooms - {room}
        return Reply(events.ROOM_LEFT, messages.room_left(room))
