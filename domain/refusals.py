"""Repeated connect refusals of one client: how long before it hears the next one, and when it is no longer let in."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class _Streak:
    count: int
    last_at: float


class RefusalBackoff:
    """Per client key, a streak of refusals; a quiet `window` ends the streak.

    The stock client's own `disconnect` handler (as in the API reference) reconnects at once after a
    server disconnect, so each refusal delivered on an accepted connection invites the next attempt.
    The first refusal of a streak is delivered at once, the nth after `base * 2**(n-2)` seconds (at most
    `cap`); past `limit` refusals the client is no longer accepted to hear one (a CONNECT_ERROR, which
    the stock client does not retry). At most `max_keys` streaks are kept (the oldest go first).
    """

    def __init__(
        self, base: float = 1.0, cap: float = 8.0, window: float = 60.0, limit: int = 8, max_keys: int = 10_000
    ) -> None:
        if base < 0 or cap < 0 or window <= 0 or limit < 1 or max_keys < 1:
            raise ValueError("backoff needs base, cap >= 0, window > 0, limit >= 1, max_keys >= 1")
        self._base = base
        self._cap = cap
        self._window = window
        self._limit = limit
        self._max_keys = max_keys
        self._streaks: dict[str, _Streak] = {}

    def next(self, key: str, now: float) -> float | None:
        """Seconds to wait before delivering this refusal, or None: refuse without accepting."""
        streak = self._streaks.pop(key, None)
        if streak is None or now - streak.last_at > self._window:
            streak = _Streak(0, now)
        streak.count += 1
        streak.last_at = now
        self._streaks[key] = streak  # re-inserted: the dict's order is least recently refused first
        while len(self._streaks) > self._max_keys:
            del self._streaks[next(iter(self._streaks))]
        if streak.count > self._limit:
            return None
        if streak.count == 1:
            return 0.0
        return float(min(self._cap, self._base * 2 ** (streak.count - 2)))

    def __len__(self) -> int:
        return len(self._streaks)
