"""A user's connection to a Pixelfed or Mastodon instance and its reported status."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PlatformType(StrEnum):
    PIXELFED = "pixelfed"
    MASTODON = "mastodon"


class PlatformStatus(StrEnum):
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    ERROR = "error"
    SYNCING = "syncing"


@dataclass(frozen=True, slots=True)
class PlatformConnection:
    id: int
    user_id: int
    name: str
    platform_type: PlatformType
    instance_url: str
    status: PlatformStatus = PlatformStatus.DISCONNECTED
    last_sync: float | None = None
