"""Runs every benchmark scenario against bare python-socketio and our server; prints a table, writes results.json."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import pstats
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from common import BENCH_DIR, HOST, ROOT, free_port

PY = sys.executable
# BENCH_REDIS_URL: a Redis of the bench's own (its CPU per event then counts no other client's commands)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_DSN = "postgresql://postgres@127.0.0.1:5432/test"
STARTUP_TIMEOUT = 60.0
CLIENT_TIMEOUT = 300.0


@dataclass(frozen=True)
class Check:
    """subject / baseline compared with `target`: at most it (lower is better) or at least it."""

    subject: str
    baseline: str
    target: float
    higher_is_better: bool = False
    binding: bool = True
    difference: bool = False  # compare subject - baseline (seconds) instead of the ratio

    def compare(self, subject: float, baseline: float) -> float:
        if self.difference:
            return subject - baseline
        return subject / baseline if baseline > 0 else float("inf")

    def passes(self, value: float) -> bool:
        return value >= self.target if self.higher_is_better else value <= self.target

    @property
    def label(self) -> str:
        return f"{self.subject} {'-' if self.difference else '/'} {self.baseline}"

    @property
    def wanted(self) -> str:
        return f"{'>=' if self.higher_is_better else '<='} {self.target:g}{' s' if self.difference else ''}"


@dataclass(frozen=True)
class Scenario:
    name: str
    client: str  # the client.py scenario
    target: float  # ours / bare must be <= this (the default check)
    description: str
    client_args: list[str] = field(default_factory=list)
    ours_args: list[str] = field(default_factory=list)
    bare_args: list[str] = field(default_factory=list)
    binding: bool = True  # counts towards the overall verdict
    # Servers to run: "bare", "ours" (SQLite), "ours_pg", "ours_redis", "ours_redis_x2" (two nodes, one Redis),
    # "ours_norecovery" (ours with RECOVERY_ENABLED=false).
    impls: tuple[str, ...] = ("bare", "ours")
    extra_checks: tuple[Check, ...] = ()
    higher_is_better: bool = False  # of the default check ours / bare

    @property
    def checks(self) -> tuple[Check, ...]:
        main = Check("ours", "bare", self.target, self.higher_is_better, self.binding)
        return (main, *self.extra_checks)


SCENARIOS = [
    Scenario(
        "event",
        "events",
        1.0,
        "server CPU per client event, all checks on (CSRF token in every event); ours: join_room, bare: echo",
        ["--sockets", "100", "--rate", "1500", "--events", "15000", "--warmup", "2000", "--csrf", "event"],
        ["--role", "viewer", "--users", "100", "--sessions-per-user", "1"],
    ),
    Scenario(
        "event_csrf_at_connect",
        "events",
        1.0,
        "as 'event' but CSRF proven once in the connect auth (the gate then skips the per-event compare)",
        ["--sockets", "100", "--rate", "1500", "--events", "15000", "--warmup", "2000", "--csrf", "connect"],
        ["--role", "viewer", "--users", "100", "--sessions-per-user", "1"],
        binding=False,
    ),
    Scenario(
        "broadcast_1000",
        "broadcast",
        0.5,
        "server CPU per delivery of a broadcast to one room of 1000 sockets",
        ["--sockets", "1000", "--count", "50", "--warmup", "3"],
        ["--role", "admin", "--users", "100", "--sessions-per-user", "1"],
        ["--broadcast-room"],
    ),
    Scenario(
        "idle_memory_1000",
        "memory",
        0.9,
        "RSS growth per idle authenticated connection (marginal: the second batch of 1000 connections)",
        ["--sockets", "1000", "--warmup", "50", "--settle", "3"],
        ["--role", "viewer", "--users", "100", "--sessions-per-user", "10"],
    ),
    # --- connection-state recovery (issue 12): ours (recovery on, the default) against ours with it off ---
    Scenario(
        "recovery_broadcast",
        "broadcast",
        1.0,
        "recovery on vs off: server CPU per delivery of a broadcast to one room of 1000 sockets",
        ["--sockets", "1000", "--count", "50", "--warmup", "3"],
        ["--role", "admin", "--users", "100", "--sessions-per-user", "1"],
        ["--broadcast-room"],
        impls=("ours", "ours_norecovery"),
        binding=False,
        extra_checks=(Check("ours", "ours_norecovery", 1.1, binding=False),),
    ),
    Scenario(
        "recovery_event",
        "broadcast",
        1.0,
        "recovery on vs off: server CPU per delivery of broadcasts to a room of 10 sockets (the per-event"
        " part: numbering, logging, the offset in the encoding; plus the trigger's HTTP request, alike in both)",
        ["--sockets", "10", "--count", "1500", "--warmup", "20"],
        ["--role", "admin", "--users", "10", "--sessions-per-user", "1"],
        ["--broadcast-room"],
        impls=("ours", "ours_norecovery"),
        binding=False,
        extra_checks=(Check("ours", "ours_norecovery", 1.1, binding=False),),
    ),
    Scenario(
        "recovery_memory",
        "memory",
        1.0,
        "recovery on vs off: RSS growth per idle authenticated connection (its recoverable state)",
        ["--sockets", "1000", "--warmup", "50", "--settle", "3"],
        ["--role", "viewer", "--users", "100", "--sessions-per-user", "10"],
        impls=("ours", "ours_norecovery"),
        binding=False,
        extra_checks=(Check("ours", "ours_norecovery", 1.1, binding=False),),
    ),
    # --- at saturation (closed loop: as fast as the server answers) ---
    Scenario(
        "acked_events",
        "acked",
        1.5,
        "acked events/s at saturation, 50 sockets closed loop, CSRF in every event; ours: join_room ->"
        " room_joined + ack, bare: echo -> echo + ack; ours_redis: ours with REDIS_URL (fleet-wide exact limits)",
        ["--sockets", "50", "--per-socket", "600", "--warmup", "40"],
        ["--role", "viewer", "--users", "50", "--sessions-per-user", "1"],
        impls=("bare", "ours", "ours_redis"),
        higher_is_better=True,
        extra_checks=(Check("ours_redis", "ours", 0.8, higher_is_better=True),),
    ),
    Scenario(
        "connects",
        "connects",
        1.0,
        "connects/s at saturation: 1000 authenticated connects, 100 at a time, each session seen before;"
        " ours on SQLite and on PostgreSQL",
        ["--sockets", "1000", "--concurrency", "100"],
        ["--role", "viewer", "--users", "100", "--sessions-per-user", "10"],
        impls=("bare", "ours", "ours_pg"),
        higher_is_better=True,
        extra_checks=(Check("ours_pg", "bare", 1.0, higher_is_better=True),),
    ),
    Scenario(
        "reconnect_storm",
        "storm",
        1.5,
        "a restarted node: 3000 clients connecting at once, seconds until all are back (authenticated)",
        ["--sockets", "3000"],
        ["--role", "viewer", "--users", "300", "--sessions-per-user", "10"],
        binding=False,  # binding: all back within 1.5 s of bare's time
        extra_checks=(Check("ours", "bare", 1.5, difference=True),),
    ),
    Scenario(
        "fanout_nodes",
        "fanout",
        1.0,
        "fan-out deliveries/s at saturation, 1000 sockets in one room, 64 broadcasts in flight, received by"
        " raw sockets counting frames in one thread; ours_redis_x2: the sockets spread over two nodes joined by Redis",
        ["--sockets", "1000", "--count", "400", "--warmup", "5", "--window", "64", "--read-pause", "5"],
        ["--role", "admin", "--users", "100", "--sessions-per-user", "1"],
        ["--broadcast-room"],
        impls=("bare", "ours", "ours_redis_x2"),
        higher_is_better=True,
        binding=False,
        extra_checks=(Check("ours_redis_x2", "ours", 1.7, higher_is_better=True),),
    ),
]


def wait_for_port(port: int, proc: subprocess.Popen[bytes], ready_file: Path | None) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
            if ready_file is None or ready_file.exists():
                return
        time.sleep(0.1)
    raise RuntimeError("the server did not start in time")


@contextlib.contextmanager
def fresh_postgres() -> Iterator[str]:
    """A throwaway database on the test Postgres (127.0.0.1:5432, trust), dropped afterwards."""
    import asyncio
    import uuid

    import asyncpg

    name = f"bench_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(POSTGRES_DSN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def redis_pid() -> int:
    """The local Redis server's process id (the fan-out scenario reports its CPU)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        return int(client.info("server")["process_id"])
    finally:
        client.close()


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def servers(
    impl: str, scenario: Scenario, work: Path, profile: Path | None
) -> Iterator[tuple[list[int], list[int], Path | None]]:
    """Starts the server process(es) of one impl; yields (ports, pids, sessions file)."""
    nodes = 2 if impl.endswith("_x2") else 1
    sessions: Path | None = None
    procs: list[subprocess.Popen[bytes]] = []
    ports: list[int] = []
    with contextlib.ExitStack() as stack:
        ours_extra: list[str] = []
        if impl.startswith("ours_pg"):
            ours_extra += ["--database-url", stack.enter_context(fresh_postgres())]
        if impl.endswith("_norecovery"):
            ours_extra += ["--no-recovery"]
        if "redis" in impl:
            ours_extra += ["--redis-url", REDIS_URL, "--redis-channel", f"vrt-bench-{os.getpid()}-{time.time_ns()}"]
        try:
            for node in range(nodes):
                port = free_port()
                node_sessions: Path | None = None
                if impl == "bare":
                    cmd = [PY, str(BENCH_DIR / "serve_bare.py"), *scenario.bare_args]
                else:
                    node_sessions = work / f"sessions-{node}.json"
                    cmd = [PY, str(BENCH_DIR / "serve_ours.py"), "--db-dir", str(work)]
                    cmd += ["--sessions-out", str(node_sessions), *scenario.ours_args, *ours_extra]
                    if node > 0:
                        cmd += ["--users", "0"]  # the first node issued them in the shared database
                    if sessions is None:
                        sessions = node_sessions
                cmd += ["--port", str(port)]
                if profile is not None and node == 0:
                    cmd += ["--profile", str(profile)]
                log = stack.enter_context((work / f"{impl}-{node}-server.log").open("wb"))
                proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
                procs.append(proc)
                wait_for_port(port, proc, node_sessions)
                ports.append(port)
            yield ports, [p.pid for p in procs], sessions
        finally:
            for proc in procs:
                stop(proc)


def run_one(impl: str, scenario: Scenario, profile_dir: Path | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"bench-{scenario.name}-{impl}-") as tmp:
        work = Path(tmp)
        profile = profile_dir / f"{scenario.name}-{impl}.prof" if profile_dir is not None else None
        try:
            with servers(impl, scenario, work, profile) as (ports, pids, sessions):
                cmd = [PY, str(BENCH_DIR / "client.py"), scenario.client]
                for port, pid in zip(ports, pids, strict=True):
                    cmd += ["--url", f"http://{HOST}:{port}", "--pid", str(pid)]
                cmd += ["--impl", "bare" if impl == "bare" else "ours", *scenario.client_args]
                if sessions is not None:
                    cmd += ["--sessions", str(sessions)]
                if "redis" in impl:
                    cmd += ["--redis-pid", str(redis_pid())]
                if profile is not None:
                    cmd += ["--profile"]
                done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=CLIENT_TIMEOUT)
                if done.returncode != 0:
                    raise RuntimeError(f"client failed ({done.returncode}):\n{done.stderr[-3000:]}")
                result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
                return result
        except Exception:
            for logfile in work.glob("*-server.log"):
                sys.stderr.write(f"--- {logfile.name} (tail) ---\n{logfile.read_text(errors='replace')[-3000:]}\n")
            raise


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu_model": model,
        "cpu_count": os.cpu_count(),
        "python-socketio": metadata.version("python-socketio"),
        "python-engineio": metadata.version("python-engineio"),
        "aiohttp": metadata.version("aiohttp"),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def hot_spots(path: Path, limit: int) -> str:
    """Top functions by own time, and the top ones in our code (not site-packages, not bench)."""
    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    stats.sort_stats("tottime").print_stats(limit)
    ours = [str(ROOT / d) for d in ("domain", "application", "adapters", "composition", "entrypoints", "bootstrap.py")]
    out.write("\n-- our code only, by own time --\n")
    rows = []
    for (file, line, func), (_cc, nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if any(file.startswith(p) for p in ours):
            rows.append((tt, ct, nc, f"{os.path.relpath(file, ROOT)}:{line}({func})"))
    total = stats.total_tt  # type: ignore[attr-defined]
    out.write(f"{'own s':>8} {'own %':>6} {'cum s':>8} {'calls':>9}  where\n")
    for tt, ct, nc, where in sorted(rows, reverse=True)[:limit]:
        out.write(f"{tt:8.3f} {100 * tt / total:6.1f} {ct:8.3f} {nc:9d}  {where}\n")
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="*", choices=[s.name for s in SCENARIOS], help="run only these scenarios")
    parser.add_argument("--repeat", type=int, default=1, help="runs per server; the median is reported")
    parser.add_argument("--impls", nargs="*", help="run only these servers (checks needing others are skipped)")
    parser.add_argument("--out", default=str(BENCH_DIR / "results.json"))
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the measured phase of both servers (numbers are inflated)"
    )
    args = parser.parse_args()
    profile_dir = BENCH_DIR / "profiles" if args.profile else None
    if profile_dir is not None:
        profile_dir.mkdir(exist_ok=True)
    chosen = [s for s in SCENARIOS if not args.only or s.name in args.only]
    report: dict[str, Any] = {"machine": machine(), "profiled": args.profile, "scenarios": {}}
    started = time.monotonic()
    for scenario in chosen:
        impls = [i for i in scenario.impls if not args.impls or i in args.impls]
        runs: dict[str, list[dict[str, Any]]] = {impl: [] for impl in impls}
        for _ in range(args.repeat):
            for impl in impls:
                t0 = time.monotonic()
                result = run_one(impl, scenario, profile_dir)
                runs[impl].append(result)
                print(
                    f"  {scenario.name:<22} {impl:<13} {result['value']:10.2f} {result['unit']}"
                    f"  ({time.monotonic() - t0:.1f} s)",
                    flush=True,
                )
        values = {impl: statistics.median(r["value"] for r in rs) for impl, rs in runs.items()}
        checks = []
        for check in scenario.checks:
            if check.subject not in values or check.baseline not in values:
                continue
            # Paired per repeat (the servers of one repeat ran back to back), then the median: a load
            # spike from outside then spoils one pair, not the comparison of two independent medians.
            pairs = zip(runs[check.subject], runs[check.baseline], strict=True)
            compared = statistics.median(check.compare(a["value"], b["value"]) for a, b in pairs)
            checks.append(
                {
                    "check": check.label,
                    "value": compared,
                    "wanted": check.wanted,
                    "binding": check.binding,
                    "pass": check.passes(compared),
                }
            )
        # Server CPU per unit of work, where the client measured it: steadier than a throughput on a busy machine.
        cpu_key = next((k for k in runs[impls[0]][0] if k.startswith("cpu_us_per_")), None)
        cpu = {impl: statistics.median(r[cpu_key] for r in rs) for impl, rs in runs.items()} if cpu_key else {}
        for c in checks:
            subject, baseline = c["check"].split(" ")[0], c["check"].split(" ")[-1]
            if cpu and subject in cpu and baseline in cpu and cpu[baseline] > 0:
                c["cpu_ratio"] = cpu[subject] / cpu[baseline]
        report["scenarios"][scenario.name] = {
            "description": scenario.description,
            "unit": runs[impls[0]][0]["unit"],
            "cpu_key": cpu_key,
            "cpu": cpu,
            "values": values,
            "checks": checks,
            "runs": runs,
        }
    report["elapsed_s"] = time.monotonic() - started
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")

    print()
    header = (
        f"{'scenario':<18} {'unit':<18} {'bare':>9} {'ours':>9} {'other':>22}  {'check':<22} {'ratio':>7}"
        f" {'target':>8}  {'result':<11} {'cpu/unit ratio':>14}"
    )
    print(header)
    print("-" * len(header))
    for name, s in report["scenarios"].items():
        v = s["values"]
        others = ", ".join(
            f"{k}={x:.0f}" if x > 100 else f"{k}={x:.2f}" for k, x in v.items() if k not in ("bare", "ours")
        )
        for i, c in enumerate(s["checks"]):
            verdict = ("PASS" if c["pass"] else "FAIL") + ("" if c["binding"] else " (info)")
            lead = (
                f"{name:<18} {s['unit']:<18} {v.get('bare', float('nan')):9.2f} {v.get('ours', float('nan')):9.2f} {others:>22}"
                if i == 0
                else " " * 81
            )
            cpu_ratio = f"{c['cpu_ratio']:14.2f}" if "cpu_ratio" in c else f"{'':>14}"
            print(f"{lead}  {c['check']:<22} {c['value']:7.2f} {c['wanted']:>8}  {verdict:<11} {cpu_ratio}")
    m = report["machine"]
    print(
        f"\nPython {m['python']}, python-socketio {m['python-socketio']}, python-engineio {m['python-engineio']},"
        f" aiohttp {m['aiohttp']}, {m['cpu_count']} CPUs; {report['elapsed_s']:.0f} s; wrote {args.out}"
    )
    if profile_dir is not None:
        print("\nPROFILED RUN: cProfile overhead inflates every number above; use it for the hot spots only.")
        for prof in sorted(profile_dir.glob("*-ours.prof")):
            print(f"\n===== {prof.name} =====\n{hot_spots(prof, 25)}")
        for mem in sorted(profile_dir.glob("*-ours.prof.mem.txt")):
            print(f"\n===== {mem.name} =====\n{mem.read_text()}")
    if args.profile:
        return
    failed = [n for n, s in report["scenarios"].items() if any(c["binding"] and not c["pass"] for c in s["checks"])]
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
