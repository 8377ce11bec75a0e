"""Run the real console script as its own process: CLI commands and a serving node."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SCRIPT = Path(sys.executable).with_name("vedfolnir-realtime")

# What a child needs from the surrounding environment to run at all; every setting it gets is explicit.
PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")


def child_env(env: dict[str, str]) -> dict[str, str]:
    """`env` plus the few variables a process needs to start: no stray REDIS_URL or DATABASE_URL from the shell."""
    return {**{k: os.environ[k] for k in PASSED_THROUGH if k in os.environ}, **env}


def free_port() -> int:
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


@contextlib.contextmanager
def process(env: dict[str, str], *args: str) -> Iterator[subprocess.Popen[str]]:
    """A long-running console-script process (e.g. a worker), stopped with SIGTERM at the end."""
    proc = subprocess.Popen(
        [str(SCRIPT), *args], env=child_env(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
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


@contextlib.contextmanager
def serving(env: dict[str, str], port: int, *extra: str, cwd: Path | None = None) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [str(SCRIPT), "serve", "--port", str(port), *extra],
        env=child_env(env),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            time.sleep(0.1)
        else:
            raise AssertionError("the server did not start listening")
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
