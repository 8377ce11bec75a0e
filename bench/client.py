"""Load client: raw Engine.IO/Socket.IO over aiohttp websockets; reads the server's CPU and RSS with psutil."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import psutil
from common import BROADCAST_EVENT, BROADCAST_ROOM, raise_nofile

WS_PATH = "/socket.io/?EIO=4&transport=websocket"
CONNECT_CONCURRENCY = 25
TIMEOUT = 30.0


class BenchError(RuntimeError):
    pass


def server_cpu(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return float(t.user + t.system)


def server_sys(proc: psutil.Process) -> float:
    return float(proc.cpu_times().system)


async def open_socket(
    http: aiohttp.ClientSession, url: str, auth: dict[str, Any] | None
) -> aiohttp.ClientWebSocketResponse:
    """Opens one socket on "/" and waits for the Socket.IO connect ack (`40{"sid":...}`)."""
    ws = await http.ws_connect(url + WS_PATH, compress=0, max_msg_size=0, autoping=True)
    opening = await asyncio.wait_for(ws.receive_str(), TIMEOUT)
    if not opening.startswith("0{"):
        raise BenchError(f"expected the Engine.IO open packet, got {opening[:80]!r}")
    await ws.send_str("40" if auth is None else "40" + json.dumps(auth, separators=(",", ":")))
    while True:
        msg = await asyncio.wait_for(ws.receive_str(), TIMEOUT)
        if msg == "2":
            await ws.send_str("3")
        elif msg.startswith("40"):
            return ws
        elif msg.startswith("44"):
            raise BenchError(f"connection refused: {msg[:300]}")


async def request(ws: aiohttp.ClientWebSocketResponse, event: str, data: Any, expect: str) -> str:
    """Sends one event (no ack id) and waits for the next event packet, which must be `expect`."""
    await ws.send_str("42" + json.dumps([event, data], separators=(",", ":")))
    while True:
        msg = await asyncio.wait_for(ws.receive_str(), TIMEOUT)
        if msg == "2":
            await ws.send_str("3")
        elif msg.startswith("42"):
            if not msg.startswith(f'42["{expect}"'):
                raise BenchError(f"expected {expect}, got {msg[:300]}")
            return msg


@dataclass
class Fleet:
    """Many sockets opened with bounded concurrency."""

    http: aiohttp.ClientSession
    url: str
    sockets: list[aiohttp.ClientWebSocketResponse] = field(default_factory=list)

    async def open(
        self, auths: list[dict[str, Any] | None], after: Any = None, concurrency: int = CONNECT_CONCURRENCY
    ) -> None:
        gate = asyncio.Semaphore(concurrency)

        async def one(i: int, auth: dict[str, Any] | None) -> aiohttp.ClientWebSocketResponse:
            async with gate:
                ws = await open_socket(self.http, self.url, auth)
                if after is not None:
                    await after(i, ws)
                return ws

        self.sockets.extend(await asyncio.gather(*(one(i, a) for i, a in enumerate(auths))))

    async def close(self) -> None:
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)
        self.sockets.clear()


def load_sessions(path: str | None) -> list[dict[str, Any]]:
    if path is None:
        return []
    sessions: list[dict[str, Any]] = json.loads(open(path).read())
    if not sessions:
        raise BenchError("no sessions issued")
    return sessions


class Profiler:
    """Turns the server's cProfile on and off around the measured phase (only when asked to)."""

    def __init__(self, http: aiohttp.ClientSession, url: str, enabled: bool) -> None:
        self._http, self._url, self._enabled = http, url, enabled

    async def _post(self, what: str, action: str) -> None:
        if self._enabled:
            async with self._http.post(f"{self._url}/bench/{what}?action={action}") as r:
                r.raise_for_status()

    async def start(self) -> None:
        await self._post("profile", "start")

    async def stop(self) -> None:
        await self._post("profile", "stop")

    async def start_tracing(self) -> None:
        await self._post("tracemalloc", "start")

    async def stop_tracing(self) -> None:
        await self._post("tracemalloc", "stop")


# --- per-event CPU -------------------------------------------------------------------------------


async def drive(ws: aiohttp.ClientWebSocketResponse, frame: str, quota: int, window: int, expect: str) -> int:
    """Keeps `window` events in flight until `quota` replies came; the number of unexpected replies."""
    sent = got = bad = 0
    while sent < min(window, quota):
        await ws.send_str(frame)
        sent += 1
    prefix = f'42["{expect}"'
    while got < quota:
        msg = await ws.receive_str()
        if msg == "2":
            await ws.send_str("3")
            continue
        if not msg.startswith("42"):
            continue
        got += 1
        if not msg.startswith(prefix):
            bad += 1
            if bad == 1:
                print(f"unexpected reply: {msg[:300]}", file=sys.stderr)
        if sent < quota:
            await ws.send_str(frame)
            sent += 1
    return bad


async def paced(
    ws: aiohttp.ClientWebSocketResponse, frame: str, quota: int, period: float, offset: float, expect: str
) -> int:
    """Sends one event every `period` seconds (from `offset`), each after the previous reply; unexpected replies."""
    loop = asyncio.get_running_loop()
    start = loop.time() + offset
    prefix = f'42["{expect}"'
    bad = 0
    for k in range(quota):
        delay = start + k * period - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        await ws.send_str(frame)
        while True:
            msg = await ws.receive_str()
            if msg == "2":
                await ws.send_str("3")
            elif msg.startswith("42"):
                break
        if not msg.startswith(prefix):
            bad += 1
            if bad == 1:
                print(f"unexpected reply: {msg[:300]}", file=sys.stderr)
    return bad


async def events(args: argparse.Namespace, proc: psutil.Process, http: aiohttp.ClientSession) -> dict[str, Any]:
    sessions = load_sessions(args.sessions)
    fleet = Fleet(http, args.url)
    auths: list[dict[str, Any] | None] = []
    frames: list[str] = []
    for i in range(args.sockets):
        if args.impl == "ours":
            s = sessions[i % len(sessions)]
            user_id, token = s["user_id"], s["csrf_token"]
            auth: dict[str, Any] = {"session_id": s["session_id"]}
            if args.csrf == "connect":
                auth["csrf_token"] = token
            auths.append(auth)
        else:  # the same payload shape and size, echoed
            user_id, token = 1 + i % 100, "x" * 43
            auths.append(None)
        data: dict[str, Any] = {"room_name": f"user_{user_id}_captions"}
        if args.csrf == "event":
            data["csrf_token"] = token
        name = "join_room" if args.impl == "ours" else "echo"
        frames.append("42" + json.dumps([name, data], separators=(",", ":")))
    expect = "room_joined" if args.impl == "ours" else "echo"
    await fleet.open(auths)
    per_socket = max(1, args.events // args.sockets)
    warm = max(1, args.warmup // args.sockets)
    bad = sum(
        await asyncio.gather(
            *(drive(ws, f, warm, args.window, expect) for ws, f in zip(fleet.sockets, frames, strict=True))
        )
    )
    profiler = Profiler(http, args.url, args.profile)
    await profiler.start()
    sys0, cpu0, t0 = server_sys(proc), server_cpu(proc), time.perf_counter()
    period = args.sockets / args.rate  # every socket sends once per period; together `rate` events/s
    bad += sum(
        await asyncio.gather(
            *(
                paced(ws, f, per_socket, period, i * period / args.sockets, expect)
                for i, (ws, f) in enumerate(zip(fleet.sockets, frames, strict=True))
            )
        )
    )
    wall, cpu, sys_s = time.perf_counter() - t0, server_cpu(proc) - cpu0, server_sys(proc) - sys0
    await profiler.stop()
    await fleet.close()
    if bad:
        raise BenchError(f"{bad} replies were not {expect}")
    n = per_socket * args.sockets
    return {
        "events": n,
        "sockets": args.sockets,
        "offered_rate": args.rate,
        "csrf": args.csrf,
        "example_frame": frames[0][:40] + "...",
        "server_cpu_s": cpu,
        "server_sys_s": sys_s,
        "wall_s": wall,
        "events_per_s": n / wall,
        "value": cpu / n * 1e6,
        "unit": "us CPU/event",
    }


# --- broadcast CPU -------------------------------------------------------------------------------


@dataclass
class Tally:
    counts: list[int]
    total: int = 0
    target: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)


async def count_broadcasts(ws: aiohttp.ClientWebSocketResponse, i: int, tally: Tally) -> None:
    prefix = f'42["{BROADCAST_EVENT}"'
    async for msg in ws:
        if msg.type is not aiohttp.WSMsgType.TEXT:
            continue
        data = msg.data
        if data == "2":
            await ws.send_str("3")
        elif data.startswith(prefix):
            tally.counts[i] += 1
            tally.total += 1
            if tally.total >= tally.target:
                tally.done.set()


async def broadcast(args: argparse.Namespace, proc: psutil.Process, http: aiohttp.ClientSession) -> dict[str, Any]:
    sessions = load_sessions(args.sessions)
    fleet = Fleet(http, args.url)
    n = args.sockets
    if args.impl == "ours":
        auths: list[dict[str, Any] | None] = [
            {"session_id": s["session_id"], "csrf_token": s["csrf_token"]}
            for s in (sessions[i % len(sessions)] for i in range(n))
        ]

        async def join(_i: int, ws: aiohttp.ClientWebSocketResponse) -> None:
            await request(ws, "join_room", {"room_name": BROADCAST_ROOM}, "room_joined")

        await fleet.open(auths, after=join)
    else:
        await fleet.open([None] * n)  # the bare connect handler enters the room
    tally = Tally([0] * n)
    readers = [asyncio.create_task(count_broadcasts(ws, i, tally)) for i, ws in enumerate(fleet.sockets)]
    payload = {"type": "bench", "message": "x" * 64}

    async def one(seq: int) -> None:
        tally.target += n
        tally.done.clear()
        async with http.post(f"{args.url}/bench/broadcast", json={**payload, "seq": seq}) as r:
            r.raise_for_status()
        await asyncio.wait_for(tally.done.wait(), TIMEOUT)

    for seq in range(args.warmup):
        await one(seq)
    profiler = Profiler(http, args.url, args.profile)
    await profiler.start()
    sys0, cpu0, t0 = server_sys(proc), server_cpu(proc), time.perf_counter()
    for seq in range(args.count):
        await one(args.warmup + seq)
    wall, cpu, sys_s = time.perf_counter() - t0, server_cpu(proc) - cpu0, server_sys(proc) - sys0
    await profiler.stop()
    expected = args.warmup + args.count
    short = [c for c in tally.counts if c != expected]
    for task in readers:
        task.cancel()
    await fleet.close()
    if short:
        raise BenchError(f"{len(short)} sockets did not receive exactly {expected} broadcasts")
    deliveries = args.count * n
    return {
        "broadcasts": args.count,
        "sockets": n,
        "deliveries": deliveries,
        "server_cpu_s": cpu,
        "server_sys_s": sys_s,
        "wall_s": wall,
        "deliveries_per_s": deliveries / wall,
        "value": cpu / deliveries * 1e6,
        "unit": "us CPU/delivery",
    }


# --- memory per idle connection ------------------------------------------------------------------


async def rss_settled(proc: psutil.Process, samples: int = 5, pause: float = 0.4) -> tuple[float, float]:
    """Median RSS and USS over a few samples."""
    rss: list[float] = []
    uss: list[float] = []
    for _ in range(samples):
        info = proc.memory_full_info()
        rss.append(info.rss)
        uss.append(info.uss)
        await asyncio.sleep(pause)
    return statistics.median(rss), statistics.median(uss)


async def memory(args: argparse.Namespace, proc: psutil.Process, http: aiohttp.ClientSession) -> dict[str, Any]:
    sessions = load_sessions(args.sessions)
    n = args.sockets

    def auths(count: int) -> list[dict[str, Any] | None]:
        if args.impl != "ours":
            return [None] * count
        return [
            {"session_id": s["session_id"], "csrf_token": s["csrf_token"]}
            for s in (sessions[i % len(sessions)] for i in range(count))
        ]

    warm = Fleet(http, args.url)  # first connections import and allocate what every later one reuses
    await warm.open(auths(args.warmup))
    await warm.close()
    await asyncio.sleep(args.settle)
    rss0, _ = await rss_settled(proc)
    profiler = Profiler(http, args.url, args.profile)
    await profiler.start_tracing()
    fleet = Fleet(http, args.url)
    tally = Tally([0] * n, target=1 << 60)
    readers: list[asyncio.Task[None]] = []

    async def keep_reading(i: int, ws: aiohttp.ClientWebSocketResponse) -> None:
        readers.append(asyncio.create_task(count_broadcasts(ws, i, tally)))  # answers pings

    cpu0, t0 = server_cpu(proc), time.perf_counter()
    await fleet.open(auths(n), after=keep_reading)
    connect_wall, connect_cpu = time.perf_counter() - t0, server_cpu(proc) - cpu0
    await asyncio.sleep(args.settle)
    rss1, uss1 = await rss_settled(proc)
    # A second batch of the same size: its growth is the marginal cost of a connection, free of
    # one-off costs the first batch paid (caches filling up, pools and arenas growing).
    second = Fleet(http, args.url)
    await second.open(auths(n), after=keep_reading)
    await asyncio.sleep(args.settle)
    rss2, uss2 = await rss_settled(proc)
    await profiler.stop_tracing()
    for task in readers:
        task.cancel()
    await second.close()
    await fleet.close()
    return {
        "connections": 2 * n,
        "rss_before": rss0,
        "rss_after_first": rss1,
        "rss_after_second": rss2,
        "first_batch_kib_per_connection": (rss1 - rss0) / n / 1024,
        "uss_per_connection_kib": (uss2 - uss1) / n / 1024,
        "connect_cpu_per_connection_us": connect_cpu / n * 1e6,
        "connect_wall_s": connect_wall,
        "value": (rss2 - rss1) / n / 1024,
        "unit": "KiB RSS/connection",
    }


SCENARIOS = {"events": events, "broadcast": broadcast, "memory": memory}


async def amain(args: argparse.Namespace) -> dict[str, Any]:
    import saturated  # imports this module: loaded only here

    procs = [psutil.Process(pid) for pid in args.pid]
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as http:
        if args.scenario in saturated.SCENARIOS:
            return await saturated.SCENARIOS[args.scenario](args, procs, http)
        args.url = args.url[0]
        return await SCENARIOS[args.scenario](args, procs[0], http)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("scenario", choices=sorted([*SCENARIOS, "acked", "connects", "storm", "fanout"]))
    parser.add_argument("--url", action="append", required=True, help="a node's URL (fanout: one per node)")
    parser.add_argument("--pid", type=int, action="append", required=True, help="a server process (CPU, RSS)")
    parser.add_argument("--impl", choices=["bare", "ours"], required=True)
    parser.add_argument("--read-pause", type=float, default=0.0, help="fanout: ms the receiver sleeps between polls")
    parser.add_argument(
        "--redis-pid", type=int, help="fanout_nodes, acked_events: the Redis server's process (its CPU is reported)"
    )
    parser.add_argument("--sessions", help="JSON file written by serve_ours.py")
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--events", type=int, default=20000, help="events: measured events in all")
    parser.add_argument("--window", type=int, default=1, help="events: in flight per socket during the warmup")
    parser.add_argument("--rate", type=float, default=1500.0, help="events: offered events/s in the measured phase")
    parser.add_argument("--csrf", choices=["event", "connect"], default="event")
    parser.add_argument("--count", type=int, default=50, help="broadcast: measured broadcasts")
    parser.add_argument("--warmup", type=int, default=2000, help="events/broadcasts/connections before measuring")
    parser.add_argument("--settle", type=float, default=3.0, help="memory: seconds to wait before sampling RSS")
    parser.add_argument("--profile", action="store_true", help="toggle the server's cProfile around the phase")
    parser.add_argument("--per-socket", type=int, default=200, help="acked: measured events per socket")
    parser.add_argument("--concurrency", type=int, default=100, help="connects: connections opened at a time")
    args = parser.parse_args()
    raise_nofile()
    result = asyncio.run(amain(args))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
