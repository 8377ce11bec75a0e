"""The fuzz run in small (`make fuzz` runs 100,000): malformed frames over both transports against a real process."""

from __future__ import annotations

from pathlib import Path

from tests.integration.fuzz import FUZZ_SETTINGS, check, fuzz
from tests.integration.hostile import server_process

SMOKE_FRAMES = 1500


async def test_malformed_frames_and_payloads_break_nothing(tmp_path: Path) -> None:
    async with server_process(tmp_path, **{**FUZZ_SETTINGS, "socket_write_timeout_seconds": 0.2}) as server:
        report = await fuzz(server, SMOKE_FRAMES, seed=7, websockets=3, pollers=1)
        print(report.summary())
        check(report, server, SMOKE_FRAMES, rss_limit_mb=30)
