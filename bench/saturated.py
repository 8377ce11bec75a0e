"""Load at saturation: acked events/s, connects/s, a reconnect storm, fan-out deliveries/s (one or more nodes)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

import aiohttp
import psutil
from client import (
    CONNECT_CONCURRENCY,
    TIMEOUT,
    BenchError,
    Fleet,
    Profiler,
    load_sessions,
    open_socket,
)
from common import BROADCAST_EVENT, BROADCAST_ROOM
from raw_ws import RawSocket, Receiver, open_raw

Procs = list[psutil.Process]


def cpu_of(procs: Procs) -> float:
    total = 0.0
    for p in procs:
        t = p.cpu_times()
        total += t.user + t.system
    return total


def auth_of(args: argparse.Namespace, sessions: list[dict[str, Any]], i: int) -> dict[str, Any] | None:
    if args.impl == "bare":
        return None
    s = sessions[i % len(sessions)]
    return {"session_id": s["session_id"], "csrf_token": s["csrf_token"]}


# --- acked events at saturation ------------------------------------------------------------------


async def acked_loop(ws: aiohttp.ClientWebSocketResponse, name: str, data: dict[str, Any], quota: int) -> int:
    """Sends `quota` events with ack ids, each after the previous ack (closed loop); counts bad acks."""
    bad = 0
    for seq in range(quota):
        ack_id = str(seq % 1000)
        await ws.send_str("42" + ack_id + json.dumps([name, data], separators=(",", ":")))
        prefix = "43" + ack_id + "["
        while True:
            msg = await ws.receive_str()
            if msg == "2":
                await ws.send_str("3")
            elif msg.startswith("43"):
                if not msg.startswith(prefix) or '"error"' in msg[:40]:
                    bad += 1
                    if bad == 1:
                        print(f"unexpected ack: {msg[:300]}", file=sys.stderr)
                break
    return bad


async def acked(args: argparse.Namespace, procs: Procs, http: aiohttp.ClientSession) -> dict[str, Any]:
    sessions = load_sessions(args.sessions)
    fleet = Fleet(http, args.url[0])
    datas: list[dict[str, Any]] = []
    for i in range(args.sockets):
        if args.impl == "bare":
            user_id, token = 1 + i % 100, "x" * 64
        else:
            s = sessions[i % len(sessions)]
            user_id, token = s["user_id"], s["csrf_token"]
        datas.append({"room_name": f"user_{user_id}_captions", "csrf_token": token})
    name = "echo" if args.impl == "bare" else "join_room"
    # CSRF goes in every event (the gate compares it each time): no csrf_token in the connect auth.
    auths = [
        None if a is None else {"session_id": a["session_id"]}
        for a in (auth_of(args, sessions, i) for i in range(args.sockets))
    ]
    await fleet.open(auths)
    bad = sum(
        await asyncio.gather(
            *(acked_loop(ws, name, d, args.warmup) for ws, d in zip(fleet.sockets, datas, strict=True))
        )
    )
    profiler = Profiler(http, args.url[0], args.profile)
    await profiler.start()
    redis = [psutil.Process(args.redis_pid)] if args.redis_pid else []
    cpu0, redis0, t0 = cpu_of(procs), cpu_of(redis), time.perf_counter()
    bad += sum(
        await asyncio.gather(
            *(acked_loop(ws, name, d, args.per_socket) for ws, d in zip(fleet.sockets, datas, strict=True))
        )
    )
    wall, cpu, redis_cpu = time.perf_counter() - t0, cpu_of(procs) - cpu0, cpu_of(redis) - redis0
    await profiler.stop()
    await fleet.close()
    if bad:
        raise BenchError(f"{bad} acks were not the expected answer")
    n = args.per_socket * args.sockets
    return {
        "events": n,
        "sockets": args.sockets,
        "server_cpu_s": cpu,
        "wall_s": wall,
        "cpu_us_per_event": cpu / n * 1e6,
        **({"redis_cpu_us_per_event": redis_cpu / n * 1e6} if redis else {}),  # all of Redis: other clients too
        "value": n / wall,
        "unit": "acked events/s",
    }


# --- connects at saturation ----------------------------------------------------------------------


async def connects(args: argparse.Namespace, procs: Procs, http: aiohttp.ClientSession) -> dict[str, Any]:
    """A ramp of `sockets` connections opened `concurrency` at a time, every session seen once before."""
    sessions = load_sessions(args.sessions)
    distinct = len(sessions) if sessions else args.warmup
    warm = Fleet(http, args.url[0])  # steady state: each session has connected before (browsers reconnect)
    await warm.open([auth_of(args, sessions, i) for i in range(distinct)], concurrency=args.concurrency)
    await warm.close()
    await asyncio.sleep(0.5)
    fleet = Fleet(http, args.url[0])
    profiler = Profiler(http, args.url[0], args.profile)
    await profiler.start()
    cpu0, t0 = cpu_of(procs), time.perf_counter()
    await fleet.open([auth_of(args, sessions, i) for i in range(args.sockets)], concurrency=args.concurrency)
    wall, cpu = time.perf_counter() - t0, cpu_of(procs) - cpu0
    await profiler.stop()
    await fleet.close()
    return {
        "connections": args.sockets,
        "concurrency": args.concurrency,
        "server_cpu_s": cpu,
        "wall_s": wall,
        "cpu_us_per_connect": cpu / args.sockets * 1e6,
        "value": args.sockets / wall,
        "unit": "connects/s",
    }


async def storm(args: argparse.Namespace, procs: Procs, http: aiohttp.ClientSession) -> dict[str, Any]:
    """`sockets` clients of a freshly started node all connecting at once (a restart): time until all are in."""
    sessions = load_sessions(args.sessions)
    auths = [auth_of(args, sessions, i) for i in range(args.sockets)]
    latencies: list[float] = []
    sockets: list[aiohttp.ClientWebSocketResponse] = []
    cpu0, t0 = cpu_of(procs), time.perf_counter()

    async def one(auth: dict[str, Any] | None) -> None:
        for attempt in range(3):  # a refused TCP connect (backlog full) retries like a browser would
            try:
                sockets.append(await open_socket(http, args.url[0] + "", auth))
                latencies.append(time.perf_counter() - t0)
                return
            except aiohttp.ClientConnectionError:
                if attempt == 2:
                    raise
                await asyncio.sleep(0.2)

    await asyncio.gather(*(one(a) for a in auths))
    wall, cpu = time.perf_counter() - t0, cpu_of(procs) - cpu0
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    latencies.sort()
    return {
        "clients": args.sockets,
        "server_cpu_s": cpu,
        "p50_s": latencies[len(latencies) // 2],
        "p99_s": latencies[int(len(latencies) * 0.99)],
        "value": wall,
        "unit": "s until all back",
    }


# --- fan-out deliveries/s over one or more nodes -------------------------------------------------


async def fanout(args: argparse.Namespace, procs: Procs, http: aiohttp.ClientSession) -> dict[str, Any]:
    """Sockets spread over every node URL in one room; broadcasts posted to the first node, `window` in flight.

    The sockets are raw_ws sockets read by one thread (a few us per frame, not the ~40 us of an aiohttp
    WebSocket), so the servers, not this client, set the pace; the client's and Redis's CPU are reported.
    """
    sessions = load_sessions(args.sessions)
    n = args.sockets
    join = None if args.impl == "bare" else {"room_name": BROADCAST_ROOM}
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(i: int) -> RawSocket:
        async with gate:
            return await open_raw(args.url[i % len(args.url)], auth_of(args, sessions, i), join)

    sockets = await asyncio.gather(*(one(i) for i in range(n)))
    receiver = Receiver(list(sockets), f'["{BROADCAST_EVENT}"', args.read_pause / 1000)
    receiver.start()
    payload = {"type": "bench", "message": "x" * 64}
    trigger = args.url[0] + "/bench/broadcast"

    async def post(seq: int) -> None:
        async with http.post(trigger, json={**payload, "seq": seq}) as r:
            r.raise_for_status()

    async def delivered(at_least: int, deadline: float) -> None:
        try:
            await asyncio.wait_for(receiver.reached(at_least), max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            raise BenchError(f"{at_least - receiver.total} deliveries missing after {TIMEOUT * 4:.0f} s") from None
        if receiver.error is not None:
            raise BenchError(receiver.error)

    async def run(count: int, first: int) -> None:
        """Posts `count` broadcasts, never more than `window` of them not yet delivered to every socket."""
        base = receiver.total
        deadline = time.monotonic() + TIMEOUT * 4
        pending: set[asyncio.Task[None]] = set()
        for s in range(count):
            await delivered(base + (s - args.window + 1) * n, deadline)
            task = asyncio.create_task(post(first + s))  # the POST's answer is not waited for: only deliveries pace
            pending.add(task)
            task.add_done_callback(pending.discard)
        await delivered(base + count * n, deadline)
        await asyncio.gather(*pending)

    try:
        await run(args.warmup, 0)
        profiler = Profiler(http, args.url[0], args.profile)  # the first node only (run.py profiles node 0)
        await profiler.start()
        me = psutil.Process()
        redis = [psutil.Process(args.redis_pid)] if args.redis_pid else []
        nodes0, client0, redis0 = [cpu_of([p]) for p in procs], cpu_of([me]), cpu_of(redis)
        cpu0, t0, reads0 = sum(nodes0), time.perf_counter(), receiver.reads
        await run(args.count, args.warmup)
        wall, cpu = time.perf_counter() - t0, cpu_of(procs) - cpu0
        nodes = [cpu_of([p]) - c for p, c in zip(procs, nodes0, strict=True)]
        client_cpu, redis_cpu = cpu_of([me]) - client0, cpu_of(redis) - redis0
        await profiler.stop()
        await asyncio.sleep(0.2)  # a duplicate delivery would arrive now
    finally:
        receiver.stop()
    expected = args.warmup + args.count
    short = [c for c in receiver.counts if c != expected]
    if short:
        raise BenchError(f"{len(short)} sockets did not receive exactly {expected} broadcasts")
    deliveries = args.count * n
    return {
        "nodes": len(args.url),
        "sockets": n,
        "window": args.window,
        "deliveries": deliveries,
        "server_cpu_s": cpu,
        "cpu_us_per_delivery": cpu / deliveries * 1e6,
        "node_cpu_s": nodes,
        "client_cpu_s": client_cpu,
        "client_cpu_us_per_delivery": client_cpu / deliveries * 1e6,
        "client_frames_per_read": deliveries / max(1, receiver.reads - reads0),
        "redis_cpu_s": redis_cpu,
        "wall_s": wall,
        "value": deliveries / wall,
        "unit": "deliveries/s",
    }


SCENARIOS = {"acked": acked, "connects": connects, "storm": storm, "fanout": fanout}
