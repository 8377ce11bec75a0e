"""Security events: one structured log record each (never a message body or a token), counted for admins."""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from typing import Any

log = logging.getLogger("vedfolnir.security")


class SecurityEvents:
    KINDS = (
        "origin_refused",
        "csrf_refused",
        "auth_refused",
        "rate_limited",
        "connect_rate_limited",
        "connection_limit",
        "invalid_message",
        "oversized_message",
        "binary_refused",
        "malformed_packet",
        "slow_consumer",
        "write_timeout",
        "connect_flood",
        "handshake_rate_limited",
        "handshake_timeout",
        "second_identity",
        "bad_http_request",
    )

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def record(self, kind: str, **fields: Any) -> None:
        self.counts[kind] += 1
        log.warning(
            "security event %s %s",
            kind,
            " ".join(f"{k}={_logfmt(v)}" for k, v in sorted(fields.items())),
            extra={"security_event": kind, **{f"sec_{k}": v for k, v in fields.items()}},
        )

    def count(self, kind: str) -> None:
        """Counted without a log record: for repeats that would flood the log."""
        self.counts[kind] += 1

    def summary(self) -> dict[str, int]:
        return {kind: self.counts[kind] for kind in self.KINDS if self.counts[kind]}


_BARE = re.compile(r"[A-Za-z0-9_.:/@+-]{1,200}")


def _logfmt(value: Any) -> str:
    """A field value as one token: bare if plain, else a JSON string (quotes, controls and non-ASCII escaped)."""
    text = str(value)
    return text if _BARE.fullmatch(text) else json.dumps(text[:200])
