"""Run the real console script as its own process: CLI commands and a serving node."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
from collections import deque
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import IO, Any

from adapters.inbound.http_api import session_json
from composition.config import ExplicitSettings
from composition.container import Container, build_container
from composition.lifecycle import running, upgrade_database

SCRIPT = Path(sys.executable).with_name("vedfolnir-realtime")

# What a child needs from the surrounding environment to run at all; every setting it gets is explicit.
PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")


# Unless a test sets it: a node told to stop closes its port at once (the 1 s it gives a balancer to read readyz
# cost every stopped node a second; the drain tests set their own).
CHILD_DEFAULTS = {"DRAIN_READINESS_SECONDS": "0"}


def child_env(env: dict[str, str]) -> dict[str, str]:
    """`env` plus the few variables a process needs to start: no stray REDIS_URL or DATABASE_URL from the shell."""
    return {**{k: os.environ[k] for k in PASSED_THROUGH if k in os.environ}, **CHILD_DEFAULTS, **env}


def free_port() -> int:
    """A port nobody listens on (for "nothing answers here" tests); servers bind port 0 and report theirs."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(env: dict[str, str], *args: str, cwd: Path | None = None) -> Any:
    """Runs one CLI command; returns its JSON output (or text if it is not JSON)."""
    done = subprocess.run([str(SCRIPT), *args], env=child_env(env), cwd=cwd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        return done.stdout


def settings_of(env: dict[str, str]) -> ExplicitSettings:
    """The settings a child started with `env` reads (and nothing else from the environment)."""
    return ExplicitSettings(**{name.lower(): value for name, value in env.items()})


async def _in_process(env: dict[str, str], use: Any) -> Any:
    container: Container = build_container(settings_of(env))
    async with running(container):
        return await use(container)


def issue_session(env: dict[str, str], username: str) -> dict[str, Any]:
    """What `vedfolnir-realtime sessions issue <username>` prints, done in this process: a fixture step, not the
    subject (the console script itself is tested in test_cli.py), and a child process costs ~2 s of CPU."""
    session = asyncio.run(_in_process(env, lambda c: c.issue_session()(username, None)))
    return session_json(session, settings_of(env).session_cookie_name)


# How much of a long-running child's output is kept (for failure messages); the rest is read and dropped.
OUTPUT_LINES = 2000


def drain(stream: IO[str], sink: deque[str]) -> threading.Thread:
    """Reads the rest of a child's output into `sink`, so a full pipe never blocks (hangs) the child."""

    def read() -> None:
        with contextlib.suppress(ValueError, OSError):  # the stream was closed under us at the end
            for line in stream:
                sink.append(line.rstrip("\n"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return reader


@contextlib.contextmanager
def process(env: dict[str, str], *args: str) -> Iterator[subprocess.Popen[str]]:
    """A long-running console-script process (e.g. a worker), stopped with SIGTERM at the end.

    Its output is drained into `proc.output` (the last OUTPUT_LINES lines).
    """
    proc = subprocess.Popen(
        [str(SCRIPT), *args], env=child_env(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    proc.output = deque(maxlen=OUTPUT_LINES)  # type: ignore[attr-defined]
    drain(proc.stdout, proc.output)  # type: ignore[attr-defined]
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


# The line `serve` prints once its socket listens (with --port 0, the port the OS picked).
LISTENING = re.compile(r"^vedfolnir-realtime listening on https?://(?P<host>[^\s/]+):(?P<port>\d+)")


class ServingProcess(subprocess.Popen[str]):
    """A `serve` process and the port it reported."""

    port: int = 0
    output: deque[str]  # its output so far (the last OUTPUT_LINES lines), read continuously

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def keep_reading(stream: IO[str] | None, sink: list[str], keep: int = 2000) -> None:
    """Reads the rest of a child's output in a daemon thread, keeping the last `keep` lines: a child whose
    pipe nobody reads blocks on its next log line once the pipe buffer (64 KiB) is full."""
    if stream is None:
        return

    def read() -> None:
        for line in stream:
            sink.append(line)
            if len(sink) > keep:
                del sink[: len(sink) - keep]

    threading.Thread(target=read, daemon=True).start()


def announced_port(stdout: IO[str], timeout: float = 30) -> tuple[int | None, list[str]]:
    """Reads `stdout` up to the LISTENING line (in a thread, so a silent child cannot hang the caller).

    Returns the port (None if the line never came) and the lines read; the rest of the stream is the caller's.
    """
    lines: list[str] = []
    found: list[int] = []

    def read() -> None:
        for line in stdout:
            lines.append(line.rstrip("\n"))
            match = LISTENING.match(line)
            if match:
                found.append(int(match["port"]))
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    return (found[0] if found else None), lines


@contextlib.contextmanager
def serving(
    env: dict[str, str], port: int = 0, *extra: str, cwd: Path | None = None, output: deque[str] | None = None
) -> Iterator[ServingProcess]:
    """`serve` as a child process; the default port 0 lets the child bind any free port and report it (`.port`).

    Its output is drained into `output` (or a new bounded deque), available as `.output`.
    """
    proc = ServingProcess(
        [str(SCRIPT), "serve", "--port", str(port), *extra],
        env=child_env(env),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        bound, lines = announced_port(proc.stdout)
        proc.output = output if output is not None else deque(maxlen=OUTPUT_LINES)
        proc.output.extend(lines)
        if bound is None:
            proc.kill()
            raise AssertionError("the server did not start listening:\n" + "\n".join(lines)[-3000:])
        proc.port = bound
        drain(proc.stdout, proc.output)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@contextlib.asynccontextmanager
async def prepared_fleet(env: dict[str, str]) -> AsyncIterator[dict[str, str]]:
    """`env` migrated and seeded (in this process, as `db upgrade` and `demo seed` would); afterwards every Redis key
    under its REDIS_CHANNEL is deleted."""
    from redis.asyncio import Redis

    await upgrade_database(settings_of(env))
    await _in_process(env, lambda c: c.seed_demo()())
    try:
        yield env
    finally:
        redis = Redis.from_url(env["REDIS_URL"])
        keys = [k async for k in redis.scan_iter(f"{env['REDIS_CHANNEL']}*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
