"""The one routing table of client events: name -> (schema, typed command, use case), filled by name."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from application.client_events import Route, UseCase
from application.commands import (
    JoinRoomCommand,
    LeaveRoomCommand,
    PauseCaptionGenerationCommand,
    RequestCaptionStatusCommand,
    ResumeCaptionGenerationCommand,
)
from domain import events
from domain.events import CLIENT_EVENT_SCHEMAS
from domain.validation import Field


@dataclass(frozen=True, slots=True)
class ClientEvent:
    name: str
    schema: Mapping[str, Field]
    command: Callable[[dict[str, Any]], Any]  # the validated fields -> the use case's typed command


def _event(name: str, command: Callable[[dict[str, Any]], Any]) -> ClientEvent:
    return ClientEvent(name, CLIENT_EVENT_SCHEMAS[name], command)


# Every client-to-server event of the API reference, each once. The composition root passes each
# event's use case under the event's own name (client_routes below refuses a missing or unknown one).
CLIENT_EVENTS: Final[tuple[ClientEvent, ...]] = (
    _event(events.JOIN_ROOM, JoinRoomCommand.of),
    _event(events.LEAVE_ROOM, LeaveRoomCommand.of),
    _event(events.REQUEST_CAPTION_STATUS, RequestCaptionStatusCommand.of),
    _event(events.PAUSE_CAPTION_GENERATION, PauseCaptionGenerationCommand.of),
    _event(events.RESUME_CAPTION_GENERATION, ResumeCaptionGenerationCommand.of),
)


def client_routes(**use_cases: UseCase) -> dict[str, Route]:
    """The gate's routes: each event of CLIENT_EVENTS with the use case given under its name."""
    declared = {event.name for event in CLIENT_EVENTS}
    if set(use_cases) != declared:
        missing, unknown = sorted(declared - set(use_cases)), sorted(set(use_cases) - declared)
        raise ValueError(f"client routes: use cases missing for {missing}, given for unknown events {unknown}")
    return {event.name: Route(event.schema, use_cases[event.name], event.command) for event in CLIENT_EVENTS}
