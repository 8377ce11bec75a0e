"""The client-to-server events of the API reference, each with its schema and its use case."""

from __future__ import annotations

from application.client_events import Route, UseCase
from domain import events
from domain.events import CLIENT_EVENT_SCHEMAS


def client_routes(
    join_room: UseCase,
    leave_room: UseCase,
    request_caption_status: UseCase,
    pause_caption_generation: UseCase,
    resume_caption_generation: UseCase,
) -> dict[str, Route]:
    use_cases = {
        events.JOIN_ROOM: join_room,
        events.LEAVE_ROOM: leave_room,
        events.REQUEST_CAPTION_STATUS: request_caption_status,
        events.PAUSE_CAPTION_GENERATION: pause_caption_generation,
        events.RESUME_CAPTION_GENERATION: resume_caption_generation,
    }
    return {name: Route(CLIENT_EVENT_SCHEMAS[name], use_case) for name, use_case in use_cases.items()}
