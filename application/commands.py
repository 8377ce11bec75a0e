"""The typed command of each client event: what its use case receives once the event passed its schema."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class JoinRoomCommand:
    room_name: str
    room_type: str | None = None

    @classmethod
    def of(cls, fields: dict[str, Any]) -> JoinRoomCommand:
        return cls(fields["room_name"], fields.get("room_type"))


@dataclass(frozen=True, slots=True)
class LeaveRoomCommand:
    room_name: str

    @classmethod
    def of(cls, fields: dict[str, Any]) -> LeaveRoomCommand:
        return cls(fields["room_name"])


@dataclass(frozen=True, slots=True)
class RequestCaptionStatusCommand:
    user_id: int | None = None  # None: the caller's own

    @classmethod
    def of(cls, fields: dict[str, Any]) -> RequestCaptionStatusCommand:
        return cls(fields.get("user_id"))


@dataclass(frozen=True, slots=True)
class PauseCaptionGenerationCommand:
    user_id: int | None = None  # None: the caller's own
    reason: str | None = None

    @classmethod
    def of(cls, fields: dict[str, Any]) -> PauseCaptionGenerationCommand:
        return cls(fields.get("user_id"), fields.get("reason"))


@dataclass(frozen=True, slots=True)
class ResumeCaptionGenerationCommand:
    user_id: int | None = None  # None: the caller's own

    @classmethod
    def of(cls, fields: dict[str, Any]) -> ResumeCaptionGenerationCommand:
        return cls(fields.get("user_id"))
