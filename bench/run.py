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
STARTUP_TIMEOUT = 60.0
CLIENT_TIMEOUT = 300.0


@dataclass(frozen=True)
class Scenario:
    name: str
    client: str  # the client.py scenario
    target: float  # ours / bare must be <= this
    description: str
    client_args: list[str] = field(default_factory=list)
    ours_args: list[str] = field(default_factory=list)
    bare_args: list[str] = field(default_factory=list)
    binding: bool = True  # counts towards the overall verdict


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
        1.0,
        "RSS growth per idle authenticated connection (marginal: the second batch of 1000 connections)",
        ["--sockets", "1000", "--warmup", "50", "--settle", "3"],
        ["--role", "viewer", "--users", "100", "--sessions-per-user", "10"],
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
def server(impl: str, scenario: Scenario, work: Path, profile: Path | None) -> Iterator[tuple[int, int, Path | None]]:
    """Starts one server process; yields (port, pid, sessions file)."""
    port = free_port()
    sessions: Path | None = None
    if impl == "ours":
        sessions = work / "sessions.json"
        cmd = [PY, str(BENCH_DIR / "serve_ours.py"), "--db-dir", str(work), "--sessions-out", str(sessions)]
        cmd += scenario.ours_args
    else:
        cmd = [PY, str(BENCH_DIR / "serve_bare.py"), *scenario.bare_args]
    cmd += ["--port", str(port)]
    if profile is not None:
        cmd += ["--profile", str(profile)]
    log = (work / f"{impl}-server.log").open("wb")
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, proc, sessions)
        yield port, proc.pid, sessions
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


def run_one(impl: str, scenario: Scenario, profile_dir: Path | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"bench-{scenario.name}-{impl}-") as tmp:
        work = Path(tmp)
        profile = profile_dir / f"{scenario.name}-{impl}.prof" if profile_dir is not None else None
        try:
            with server(impl, scenario, work, profile) as (port, pid, sessions):
                cmd = [PY, str(BENCH_DIR / "client.py"), scenario.client, "--url", f"http://{HOST}:{port}"]
                cmd += ["--pid", str(pid), "--impl", impl, *scenario.client_args]
                if sessions is not None:
                    cmd += ["--sessions", str(sessions)]
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
    ours = [str(ROOT / d) for d in ("domain", "application", "adapters")] + [str(ROOT / "bootstrap.py")]
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
        runs: dict[str, list[dict[str, Any]]] = {"bare": [], "ours": []}
        for _ in range(args.repeat):
            for impl in ("bare", "ours"):
                t0 = time.monotonic()
                result = run_one(impl, scenario, profile_dir)
                runs[impl].append(result)
                print(
                    f"  {scenario.name:<22} {impl:<4} {result['value']:10.2f} {result['unit']}"
                    f"  ({time.monotonic() - t0:.1f} s)",
                    flush=True,
                )
        bare = statistics.median(r["value"] for r in runs["bare"])
        ours = statistics.median(r["value"] for r in runs["ours"])
        ratio = ours / bare if bare > 0 else float("inf")
        report["scenarios"][scenario.name] = {
            "description": scenario.description,
            "unit": runs["ours"][0]["unit"],
            "bare": bare,
            "ours": ours,
            "ratio": ratio,
            "target_ratio_max": scenario.target,
            "binding": scenario.binding,
            "pass": ratio <= scenario.target,
            "runs": runs,
        }
    report["elapsed_s"] = time.monotonic() - started
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")

    print()
    header = f"{'scenario':<22} {'bare':>10} {'ours':>10}  {'unit':<20} {'ratio':>6} {'target':>8}  result"
    print(header)
    print("-" * len(header))
    for name, s in report["scenarios"].items():
        verdict = "PASS" if s["pass"] else "FAIL"
        if not s["binding"]:
            verdict += " (info)"
        print(
            f"{name:<22} {s['bare']:10.2f} {s['ours']:10.2f}  {s['unit']:<20} {s['ratio']:6.2f}"
            f" {'<= ' + format(s['target_ratio_max'], '.2f'):>8}  {verdict}"
        )
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
    failed = [n for n, s in report["scenarios"].items() if s["binding"] and not s["pass"]]
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
