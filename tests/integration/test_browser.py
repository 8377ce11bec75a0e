"""The served pages in a real browser (Debian's Chromium via playwright-core) against a real server process."""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import subprocess
import threading
import time
from collections import deque
from pathlib import Path
from typing import IO

import pytest

from tests.integration.processes import ServingProcess, child_env, serving

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "browser" / "run.mjs"
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
TOKEN = "browser-test-token"
TIMEOUT = 240.0


def _ready() -> str | None:
    """Why the browser test cannot run here, or None."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing: run .ci/browser.sh"
    if not (ROOT / "node_modules" / "playwright-core").is_dir():
        return "node_modules/playwright-core is missing: run .ci/browser.sh (npm ci)"
    if shutil.which("node") is None:
        return "node is not installed"
    return None


def _drain(stream: IO[str], sink: deque[str], lines: queue.Queue[str] | None = None) -> None:
    for line in stream:
        sink.append(line.rstrip("\n"))
        if lines is not None:
            lines.put(line.strip())


def test_the_pages_work_in_a_browser(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = _ready()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'browser.db'}",
        "DEMO_MODE": "true",
        "DEMO_POSTS": "6",
        "DEMO_CAPTION_SECONDS": "0.4",
        "DEMO_PAGE_DELAY": "0",
        "DEMO_FAILURE_EVERY": "0",
        "SYSTEM_STATUS_INTERVAL": "0.5",
        "SESSION_CHECK_INTERVAL": "1",
        "API_TOKEN": TOKEN,
        "REDIS_URL": "",
        "LOG_LEVEL": "WARNING",
    }
    server_log: deque[str] = deque(maxlen=200)
    script_out: deque[str] = deque(maxlen=500)
    script_err: deque[str] = deque(maxlen=500)
    lines: queue.Queue[str] = queue.Queue()

    def started(stack: contextlib.ExitStack, port: int = 0) -> ServingProcess:
        # Port 0: the server binds a free port and reports it; its default origins are that address.
        return stack.enter_context(serving(env, port, output=server_log))

    with contextlib.ExitStack() as stack:
        server = started(stack)
        base = server.url
        browser = subprocess.Popen(
            ["node", str(SCRIPT), base, str(ARTIFACTS)],
            cwd=ROOT,
            env=child_env({"API_TOKEN": TOKEN, "CHROMIUM": str(CHROMIUM)}),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        stack.callback(_stop, browser)
        assert browser.stdout is not None and browser.stderr is not None and browser.stdin is not None
        readers = [
            threading.Thread(target=_drain, args=(browser.stdout, script_out, lines), daemon=True),
            threading.Thread(target=_drain, args=(browser.stderr, script_err), daemon=True),
        ]
        for reader in readers:
            reader.start()

        deadline = time.monotonic() + TIMEOUT
        restarts = 0
        while browser.poll() is None and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                continue
            if line == "RESTART":
                server.kill()  # no graceful shutdown: the pages see the connection drop
                server.wait(timeout=10)
                server = started(stack, server.port)  # the pages reconnect to the address they were served from
                restarts += 1
                browser.stdin.write("RESTARTED\n")
                browser.stdin.flush()
        if browser.poll() is None:
            _stop(browser)
            pytest.fail(
                f"the browser script did not finish in {TIMEOUT:.0f} s\n" + _report(script_out, script_err, server_log)
            )
        for reader in readers:  # the script exited: its pipes end, so the readers take the last lines and stop
            reader.join(timeout=10)
        report = _report(script_out, script_err, server_log)
        assert browser.returncode == 0, report
        assert restarts == 1, report
        assert "OK" in script_out, report

    shots = [line.split(" ", 1)[1] for line in script_out if line.startswith("ARTIFACT ")]
    assert {Path(s).name for s in shots} >= {"user.png", "admin.png"}, report
    with capsys.disabled():
        print("\nbrowser screenshots:\n  " + "\n  ".join(shots))


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def _report(out: deque[str], err: deque[str], server: deque[str]) -> str:
    return (
        "--- browser script stdout\n"
        + "\n".join(out)
        + "\n--- browser script stderr\n"
        + "\n".join(err)
        + "\n--- server log (tail)\n"
        + "\n".join(server)
    )
