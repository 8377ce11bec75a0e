"""In-process rate-limit and connection-slot storage over the domain's sliding log and slot models."""

from __future__ import annotations

from domain.rate_limit import ConnectionSlots, Decision, RateRule, SlidingLog

_SWEEP_EVERY = 10_000


class InMemoryRateLimitStore:
    """One sliding log per key; logs whose hits have all aged out are dropped now and then."""

    def __init__(self) -> None:
        self._logs: dict[str, SlidingLog] = {}
        self._rules: dict[str, RateRule] = {}
        self._hits_since_sweep = 0

    async def hit(self, key: str, rule: RateRule, now: float) -> Decision:
        log = self._logs.get(key)
        if log is None:
            log = self._logs[key] = SlidingLog()
            self._rules[key] = rule
        self._hits_since_sweep += 1
        if self._hits_since_sweep >= _SWEEP_EVERY:
            self._sweep(now)
        return log.hit(rule, now)

    def _sweep(self, now: float) -> None:
        self._hits_since_sweep = 0
        idle = [key for key, log in self._logs.items() if log.is_idle(self._rules[key], now)]
        for key in idle:
            del self._logs[key]
            del self._rules[key]

    def __len__(self) -> int:
        return len(self._logs)


class InMemoryConnectionSlotStore:
    def __init__(self) -> None:
        self._slots: dict[int, ConnectionSlots] = {}

    async def acquire(self, key: str, holder: str, cap: int, now: float) -> bool:
        slots = self._slots.get(cap)
        if slots is None:
            slots = self._slots[cap] = ConnectionSlots(cap)
        return slots.acquire(key, holder)

    async def release(self, key: str, holder: str) -> None:
        for slots in self._slots.values():
            slots.release(key, holder)

    async def refresh(self, holders_by_key: dict[str, set[str]]) -> None:
        """Nothing to renew: in one process a slot lives exactly as long as its connection."""

    def count(self, key: str) -> int:
        return sum(slots.count(key) for slots in self._slots.values())
