"""An inline node's claim round logs an outage once (not every poll) and says when claims work again."""

from __future__ import annotations

import logging

import pytest

from adapters.outbound.memory.scheduler import InProcessJobScheduler
from composition.claimed_jobs import InlineClaims


class Claims:
    def __init__(self) -> None:
        self.down = True
        self.running: set[str] = set()

    async def __call__(self) -> int:
        if self.down:
            raise ConnectionError("redis away")
        return 0

    async def finished(self, job_id: str) -> None:
        self.running.discard(job_id)


async def _run(job_id: str) -> None:
    return None


async def test_an_outage_is_one_warning_and_its_end_one_line(caplog: pytest.LogCaptureFixture) -> None:
    claims = Claims()
    inline = InlineClaims(claims, InProcessJobScheduler(_run), 1.0, "node-a")  # type: ignore[arg-type]
    with caplog.at_level(logging.INFO, logger="vedfolnir.jobs"):
        for _ in range(5):
            await inline._round()
        claims.down = False
        await inline._round()
        await inline._round()
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["job claims failed; retrying every 1.0 s", "job claims work again"]
