"""Rate-limit models: a sliding log of accepted hits and a capped set of connection slots."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class RateRule:
    """At most `limit` accepted hits in any half-open interval [s, s + window)."""

    limit: int
    window: float

    def __post_init__(self) -> None:
        if self.limit < 1 or self.window <= 0:
            raise ValueError("a rate rule needs limit >= 1 and a positive window")


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_at: float


class SlidingLog:
    """Timestamps of accepted hits for one key; refused hits leave it untouched.

    A log (not a fixed window or a token bucket) is what guarantees "never more than N in any window":
    a hit is accepted only if fewer than N accepted hits are younger than the window.
    """

    __slots__ = ("_hits",)

    def __init__(self) -> None:
        self._hits: deque[float] = deque()

    def __len__(self) -> int:
        return len(self._hits)

    def hit(self, rule: RateRule, now: float, cost: int = 1) -> Decision:
        hits = self._hits
        if hits and now < hits[-1]:
            now = hits[-1]  # a clock that steps back must not reopen a full window
        cutoff = now - rule.window
        while hits and hits[0] <= cutoff:
            hits.popleft()
        if cost < 1 or len(hits) + cost > rule.limit:
            reset_at = hits[0] + rule.window if hits else now
            return Decision(False, rule.limit, max(rule.limit - len(hits), 0), reset_at)
        hits.extend([now] * cost)
        return Decision(True, rule.limit, rule.limit - len(hits), hits[0] + rule.window)

    def is_idle(self, rule: RateRule, now: float) -> bool:
        """True once every logged hit has left the window, so the log may be dropped."""
        return not self._hits or self._hits[-1] <= now - rule.window


@dataclass(slots=True)
class ConnectionSlots:
    """Connections held per key, never more than `cap`; releasing twice or unknown holders is harmless."""

    cap: int
    held: dict[str, set[str]] = field(default_factory=dict)

    def acquire(self, key: str, holder: str) -> bool:
        holders = self.held.setdefault(key, set())
        if holder in holders:
            return True
        if len(holders) >= self.cap:
            if not holders:
                del self.held[key]
            return False
        holders.add(holder)
        return True

    def release(self, key: str, holder: str) -> None:
        holders = self.held.get(key)
        if holders is None:
            return
        holders.discard(holder)
        if not holders:
            del self.held[key]

    def count(self, key: str) -> int:
        return len(self.held.get(key, ()))
