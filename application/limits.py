"""The configured limits of the API reference and the keys they are counted under."""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.rate_limit import RateRule


@dataclass(frozen=True, slots=True)
class Limits:
    messages: RateRule = field(default_factory=lambda: RateRule(100, 60.0))
    connect_attempts: RateRule = field(default_factory=lambda: RateRule(100, 3600.0))
    connections_per_user: int = 5
    max_message_bytes: int = 10 * 1024


def message_key(user_id: int) -> str:
    return f"msg:user:{user_id}"


def connect_attempt_key(ip: str) -> str:
    return f"connect:ip:{ip}"


def connection_slot_key(user_id: int) -> str:
    return f"conn:user:{user_id}"
