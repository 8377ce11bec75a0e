"""Helpers shared by the benchmark servers, the load client and the runner."""

from __future__ import annotations

import cProfile
import os
import resource
import socket
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
HOST = "127.0.0.1"
BROADCAST_EVENT = "bench_broadcast"
BROADCAST_ROOM = "bench_all"
BACKLOG = 4096  # the listen backlog of both servers: a reconnect storm overflows the default 128

Broadcast = Callable[[dict[str, Any]], Awaitable[None]]


def raise_nofile(wanted: int = 65536) -> int:
    """Raises the soft RLIMIT_NOFILE towards `wanted` (never above the hard limit); the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def write_text(path: str, text: str) -> None:
    """Writes atomically (a reader polling for the file never sees it half written)."""
    tmp = Path(path + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def add_bench_routes(app: web.Application, broadcast: Broadcast, profile_path: str | None) -> None:
    """POST /bench/broadcast emits one broadcast; with a profile path, /bench/profile?action=start|stop runs
    cProfile (stats to the path) and /bench/tracemalloc?action=start|stop diffs allocations (to path + ".mem.txt").

    Both servers get the same routes, so the HTTP cost of a trigger is the same on both sides.
    """

    async def on_broadcast(request: web.Request) -> web.Response:
        await broadcast(await request.json())
        return web.Response(text="ok")

    app.router.add_post("/bench/broadcast", on_broadcast)
    if profile_path is None:
        return
    # BENCH_CPU_PROFILE=1 times functions in process CPU, not wall time: on a shared machine time spent
    # descheduled otherwise lands on whatever was running (often send()); each call then costs more.
    profiler = cProfile.Profile(time.process_time) if os.environ.get("BENCH_CPU_PROFILE") else cProfile.Profile()

    async def on_profile(request: web.Request) -> web.Response:
        if request.query.get("action") == "start":
            profiler.enable()
        else:
            profiler.disable()
            profiler.dump_stats(profile_path)
        return web.Response(text="ok")

    app.router.add_post("/bench/profile", on_profile)
    baseline: list[tracemalloc.Snapshot] = []

    async def on_tracemalloc(request: web.Request) -> web.Response:
        if request.query.get("action") == "start":
            tracemalloc.start(TRACE_FRAMES)
            baseline.append(tracemalloc.take_snapshot())
        else:
            after = tracemalloc.take_snapshot()
            tracemalloc.stop()
            write_text(profile_path + ".mem.txt", memory_report(baseline[-1], after))
        return web.Response(text="ok")

    app.router.add_post("/bench/tracemalloc", on_tracemalloc)


TRACE_FRAMES = 40
OUR_CODE = tuple(
    str(ROOT / d) for d in ("domain", "application", "adapters", "composition", "entrypoints", "bootstrap.py")
)


def memory_report(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, limit: int = 25) -> str:
    """Net allocations between two snapshots: by line, and charged to the innermost frame in our code."""
    skip = [tracemalloc.Filter(False, tracemalloc.__file__)]
    before, after = before.filter_traces(skip), after.filter_traces(skip)
    lines = [f"net growth {sum(d.size_diff for d in after.compare_to(before, 'filename')) / 1024:.1f} KiB", ""]
    lines.append("-- by allocating line --")
    for diff in after.compare_to(before, "lineno")[:limit]:
        frame = diff.traceback[0]
        lines.append(f"{diff.size_diff / 1024:10.1f} KiB {diff.count_diff:8d} blocks  {frame.filename}:{frame.lineno}")
    charged: dict[str, list[int]] = {}
    direct: dict[str, list[int]] = {}
    for diff in after.compare_to(before, "traceback"):
        newest = diff.traceback[-1]  # the allocating frame
        if newest.filename.startswith(OUR_CODE):
            acc = direct.setdefault(f"{newest.filename.removeprefix(str(ROOT) + '/')}:{newest.lineno}", [0, 0])
            acc[0] += diff.size_diff
            acc[1] += diff.count_diff
        where = "(no frame of our code on the stack)"
        for frame in reversed(diff.traceback):  # most recent first
            if frame.filename.startswith(OUR_CODE):
                where = f"{frame.filename.removeprefix(str(ROOT) + '/')}:{frame.lineno}"
                break
        acc = charged.setdefault(where, [0, 0])
        acc[0] += diff.size_diff
        acc[1] += diff.count_diff
    lines += ["", "-- allocated by a line of our code itself --"]
    for where, (size, count) in sorted(direct.items(), key=lambda kv: -kv[1][0])[:limit]:
        lines.append(f"{size / 1024:10.1f} KiB {count:8d} blocks  {where}")
    lines += ["", "-- charged to the innermost frame of our code (incl. library allocations below it) --"]
    for where, (size, count) in sorted(charged.items(), key=lambda kv: -kv[1][0])[:limit]:
        lines.append(f"{size / 1024:10.1f} KiB {count:8d} blocks  {where}")
    return "\n".join(lines) + "\n"
