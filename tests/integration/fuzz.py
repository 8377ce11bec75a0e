"""A fuzz run against a real server process: malformed frames over WebSocket, malformed payloads over long-polling.

`make fuzz` runs 100,000 of them (`python -m tests.integration.fuzz --frames 100000`); `test_fuzz_smoke.py`
runs a few thousand inside `make test`. Frames are mutations of valid Engine.IO/Socket.IO packets plus
generated JSON (deep, huge, odd numbers, lone surrogates), from a fixed seed so a failure repeats.
Passes when: no traceback or unhandled error in the server's log, the server's RSS grew by less than
`rss_limit_mb`, and a control client kept its round trip under 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.integration.hostile import MB, ServerProcess, Session, server_process

POLLING = "/socket.io/?EIO=4&transport=polling"
EVENTS = ["request_caption_status", "join_room", "leave_room", "pause_caption_generation", "resume_caption_generation"]
ALPHABET = [*'0123456789[]{}",:/\\-+.eE ntrfalsu', "\x1e", "\x00", "\n", "é", "\u2028", "\\ud800", "😀"]
# Server settings for fuzzing: no limit refuses the fuzz traffic before it reaches the code under test.
FUZZ_SETTINGS = {
    "rate_limit_messages": 10**9,
    "connect_attempts_per_hour": 10**9,
    "handshakes_per_ip_per_minute": 10**9,
    "max_connections_per_user": 10**6,
    "refusal_backoff_max_seconds": 0,  # refused CONNECTs answered at once (the back-off would only slow the run)
    "socket_write_timeout_seconds": 1,  # also bounds how long a refused polling POST waits on its close
    "log_level": "WARNING",
}
UNHANDLED = re.compile(r"Traceback|Unhandled|Task exception was never retrieved|Error handling request|CRITICAL")


@dataclass
class FuzzReport:
    frames: int = 0
    websocket_frames: int = 0
    polling_payloads: int = 0
    reconnects: int = 0
    rss_growth_mb: float = 0.0
    worst_round_trip: float = 0.0
    unhandled: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.frames} malformed frames/payloads ({self.websocket_frames} WebSocket, "
            f"{self.polling_payloads} polling), {self.reconnects} reconnects, RSS +{self.rss_growth_mb:.1f} MB, "
            f"control round trip max {self.worst_round_trip * 1000:.0f} ms, {len(self.unhandled)} unhandled errors"
        )


class Mutator:
    def __init__(self, seed: int, session: Session) -> None:
        self.rng = random.Random(seed)
        auth = json.dumps({"session_id": session.id, "csrf_token": session.csrf_token})
        self.valid = [
            "40" + auth,
            "40/admin," + auth,
            "40",
            '40{"session_id":"nope"}',
            '42["request_caption_status",{}]',
            '421["join_room",{"room_name":"user_1"}]',
            '42["leave_room",{"room_name":"user_1"}]',
            '422["pause_caption_generation",{"job_id":"j1"}]',
            '42["resume_caption_generation",{"job_id":"j1","csrf_token":"x"}]',
            '42/admin,["request_caption_status",{}]',
            '451-["join_room",{"_placeholder":true,"num":0}]',
            '43["ack"]',
            "41",
            "41/admin,",
            "2",
            "3",
            "6",
            "5",
            "1",
            "2probe",
        ]

    def json_value(self, depth: int = 0) -> Any:
        rng = self.rng
        roll = rng.random()
        if depth > 6 or roll < 0.35:
            return rng.choice(
                [
                    None,
                    True,
                    rng.randint(-(2**70), 2**70),
                    rng.random() * 10 ** rng.randint(-10, 300),
                    "x" * rng.choice([0, 1, 100, 1001, 5000]),
                    rng.choice(ALPHABET) * rng.randint(1, 20),
                    rng.choice(EVENTS),
                    "<script>alert(1)</script>",
                    "2026-13-45T99:99:99Z",
                ]
            )
        if roll < 0.65:
            return [self.json_value(depth + 1) for _ in range(rng.randint(0, 4))]
        keys = ["room_name", "job_id", "user_id", "csrf_token", "message_id", "timestamp", "x", "__proto__", ""]
        return {rng.choice(keys): self.json_value(depth + 1) for _ in range(rng.randint(0, 5))}

    def deep(self) -> str:
        depth = self.rng.choice([100, 255, 300, 2000])
        return "[" * depth + "]" * depth

    def frame(self) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.45:
            text = rng.choice(self.valid)
            for _ in range(rng.randint(1, 3)):
                text = self.mutate(text)
            return text
        if roll < 0.8:
            prefix = rng.choice(
                ["42", "421", "40", "43", "45", "46", "44", "42/admin,", "42/nowhere,", "4", "4" + "9" * 30]
            )
            body = [rng.choice([*EVENTS, "connect", "disconnect", "*", "x\ny"]), self.json_value()]
            if rng.random() < 0.3:
                body = self.json_value()  # type: ignore[assignment]
            try:
                return prefix + json.dumps(body)
            except (TypeError, ValueError):
                return prefix
        if roll < 0.9:
            return rng.choice(["42", "42[", "40"]) + self.deep()
        return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 40)))

    def mutate(self, text: str) -> str:
        rng = self.rng
        if not text:
            return rng.choice(ALPHABET)
        i = rng.randrange(len(text))
        op = rng.randrange(5)
        if op == 0:
            return text[:i]
        if op == 1:
            return text[:i] + rng.choice(ALPHABET) + text[i:]
        if op == 2:
            return text[:i] + rng.choice(ALPHABET) + text[i + 1 :]
        if op == 3:
            j = rng.randrange(i, len(text) + 1)
            return text[:j] + text[i:j] + text[j:]
        return rng.choice(["4", "2", "6", "x", ""]) + text[1:]

    def binary(self) -> bytes:
        return self.rng.randbytes(self.rng.randint(0, 200))

    def payload(self) -> bytes:
        """A long-polling POST body: several packets joined by the record separator, or plain noise."""
        rng = self.rng
        if rng.random() < 0.1:
            return rng.randbytes(rng.randint(0, 300))
        packets = [self.frame() for _ in range(rng.randint(1, 5))]
        if rng.random() < 0.1:
            packets.append("b" + "".join(rng.choice(ALPHABET) for _ in range(10)))
        return "\x1e".join(packets).encode("utf-8", "surrogatepass")


async def _websocket_worker(server: ServerProcess, mutator: Mutator, report: FuzzReport, quota: int) -> None:
    url = server.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    async with aiohttp.ClientSession() as http:
        sent = 0
        while sent < quota:
            try:
                async with http.ws_connect(url, max_msg_size=0) as ws:
                    drain = asyncio.get_running_loop().create_task(_drain(ws))
                    try:
                        while sent < quota and not ws.closed:
                            if mutator.rng.random() < 0.03:
                                await ws.send_bytes(mutator.binary())
                            else:
                                await ws.send_str(mutator.frame())
                            sent += 1
                            report.frames += 1
                            report.websocket_frames += 1
                            if sent % 50 == 0:
                                await asyncio.sleep(0)
                    finally:
                        drain.cancel()
                        with contextlib.suppress(asyncio.CancelledError, Exception):
                            await drain
            except (aiohttp.ClientError, ConnectionError, UnicodeEncodeError, ValueError):
                pass
            report.reconnects += 1


async def _drain(ws: aiohttp.ClientWebSocketResponse) -> None:
    async for message in ws:
        if message.type == aiohttp.WSMsgType.TEXT and message.data == "2":
            await ws.send_str("3")


async def _polling_worker(server: ServerProcess, mutator: Mutator, report: FuzzReport, quota: int) -> None:
    async with aiohttp.ClientSession() as http:
        sent = 0
        while sent < quota:
            try:
                async with http.get(server.url + POLLING) as opened:
                    text = await opened.text()
                if not text.startswith("0{"):
                    report.reconnects += 1
                    continue
                sid = json.loads(text[1:])["sid"]
                target = f"{server.url}{POLLING}&sid={sid}"
                # Like a real client, always a GET pending: the server's answers and closes go somewhere.
                polling = asyncio.get_running_loop().create_task(_keep_polling(http, target))
                try:
                    await _post(http, target, mutator.valid[0].encode())
                    for _ in range(50):
                        if sent >= quota or polling.done():
                            break
                        status = await _post(http, target, mutator.payload())
                        sent += 1
                        report.frames += 1
                        report.polling_payloads += 1
                        if status != 200:
                            break
                finally:
                    polling.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await polling
            except (aiohttp.ClientError, TimeoutError, ValueError, KeyError):
                pass
            report.reconnects += 1


async def _keep_polling(http: aiohttp.ClientSession, target: str) -> None:
    while True:
        async with http.get(target, timeout=aiohttp.ClientTimeout(total=60)) as polled:
            await polled.read()
            if polled.status != 200:
                return


async def _post(http: aiohttp.ClientSession, target: str, body: bytes) -> int:
    async with http.post(target, data=body, timeout=aiohttp.ClientTimeout(total=10)) as answer:
        await answer.read()
        return answer.status


async def _control(server: ServerProcess, session: Session, report: FuzzReport, stop: asyncio.Event) -> None:
    client = await server.client(session)
    try:
        while not stop.is_set():
            report.worst_round_trip = max(report.worst_round_trip, await server.round_trip(client))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.25)
        report.worst_round_trip = max(report.worst_round_trip, await server.round_trip(client))
    finally:
        await client.close()


async def fuzz(server: ServerProcess, frames: int, seed: int = 11, websockets: int = 6, pollers: int = 2) -> FuzzReport:
    """Sends `frames` malformed frames and payloads (3/4 over WebSocket, 1/4 over polling) and reports."""
    report = FuzzReport()
    session = await server.session("demo")
    control_session = await server.session("admin")
    baseline = server.rss()
    peak = baseline
    stop = asyncio.Event()
    control = asyncio.get_running_loop().create_task(_control(server, control_session, report, stop))
    ws_quota = frames * 3 // 4 // websockets + 1
    poll_quota = (frames - ws_quota * websockets) // pollers + 1
    workers = [
        *(_websocket_worker(server, Mutator(seed + i, session), report, ws_quota) for i in range(websockets)),
        *(_polling_worker(server, Mutator(seed + 100 + i, session), report, poll_quota) for i in range(pollers)),
    ]
    running = asyncio.get_running_loop().create_task(asyncio.wait_for(asyncio.gather(*workers), 900))
    while not running.done():
        peak = max(peak, server.rss())
        await asyncio.wait({running}, timeout=0.2)
    running.result()
    stop.set()
    await control
    peak = max(peak, server.rss())
    report.rss_growth_mb = (peak - baseline) / MB
    report.unhandled = [line for line in server.log().splitlines() if UNHANDLED.search(line)]
    return report


def check(report: FuzzReport, server: ServerProcess, frames: int, rss_limit_mb: float) -> None:
    assert server.alive(), "the server died"
    assert report.frames >= frames, report.summary()
    assert report.unhandled == [], report.unhandled[:20]
    assert report.rss_growth_mb < rss_limit_mb, report.summary()
    assert report.worst_round_trip < 2.0, report.summary()


async def _main(frames: int, seed: int) -> int:
    with tempfile.TemporaryDirectory(prefix="vedfolnir-fuzz-") as tmp:
        async with server_process(Path(tmp), **FUZZ_SETTINGS) as server:
            started = time.monotonic()
            report = await fuzz(server, frames, seed)
            print(f"{report.summary()} in {time.monotonic() - started:.0f} s", flush=True)
            check(report, server, frames, rss_limit_mb=50)
    print("fuzz: OK")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=11)
    arguments = parser.parse_args()
    sys.exit(asyncio.run(_main(arguments.frames, arguments.seed)))
