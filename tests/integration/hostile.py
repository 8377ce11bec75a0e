"""A real `serve` process to attack from outside: its URL, its log, its RSS (psutil), sessions over its HTTP API."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import re
import socket
import struct
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import psutil

from tests.integration.harness import Client, open_client
from tests.integration.processes import SCRIPT, child_env

API_TOKEN = "hostile-test-token"
MB = 1024 * 1024


@dataclass
class Session:
    id: str
    csrf_token: str
    user_id: int


@dataclass
class ServerProcess:
    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def rss(self) -> int:
        return int(psutil.Process(self.proc.pid).memory_info().rss)

    def cpu_seconds(self) -> float:
        times = psutil.Process(self.proc.pid).cpu_times()
        return float(times.user + times.system)

    async def until_idle(self, at_most: float, window: float = 1.0, busy: float = 0.1) -> None:
        """Waits until the process used under `busy` s of CPU in a `window` (it has worked through what it was
        sent), for at most `at_most` seconds; returns early if it exits."""
        deadline = time.monotonic() + at_most
        used = self.cpu_seconds()
        while time.monotonic() < deadline:
            await asyncio.sleep(window)
            if not self.alive():
                return
            now = self.cpu_seconds()
            if now - used < busy * window:
                return
            used = now

    def log(self) -> str:
        return _read(self.log_path)

    def alive(self) -> bool:
        return self.proc.poll() is None

    async def session(self, username: str = "demo") -> Session:
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{self.url}/api/v1/sessions",
                json={"username": username},
                headers={"Authorization": f"Bearer {API_TOKEN}"},
            ) as answer,
        ):
            body = await answer.json()
        assert answer.status == 201, body
        return Session(body["session_id"], body["csrf_token"], body["user_id"])

    async def client(self, session: Session, namespace: str = "/", transports: list[str] | None = None) -> Client:
        return await open_client(self.url, session, namespace, transports=transports)

    async def round_trip(self, client: Client, timeout: float = 5.0) -> float:
        """Seconds for one request_caption_status answer on `client`."""
        started = time.monotonic()
        reply = await client.call("request_caption_status", {}, timeout=timeout)
        assert "user_id" in reply, reply
        return time.monotonic() - started


def _env(tmp_path: Path, overrides: dict[str, str]) -> dict[str, str]:
    """The child's whole environment: these settings and what `child_env` passes to start a process, no other."""
    return child_env(
        {
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'hostile.db'}",
            "DEMO_MODE": "true",
            "API_TOKEN": API_TOKEN,
            "LOG_LEVEL": "INFO",
            "SYSTEM_STATUS_INTERVAL": "60",
            "SESSION_CHECK_INTERVAL": "5",
            **overrides,
        }
    )


def _launch(tmp_path: Path, settings: dict[str, Any]) -> tuple[subprocess.Popen[bytes], Path]:
    log_path = tmp_path / f"serve-{len(list(tmp_path.glob('serve-*.log')))}.log"
    env = _env(tmp_path, {k.upper(): str(v) for k, v in settings.items()})
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            [str(SCRIPT), "serve", "--host", "127.0.0.1", "--port", "0"],
            env=env,
            cwd=tmp_path,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    return proc, log_path


def _read(path: Path) -> str:
    return path.read_text(errors="replace")


@contextlib.asynccontextmanager
async def server_process(tmp_path: Path, **settings: Any) -> AsyncIterator[ServerProcess]:
    """`vedfolnir-realtime serve --port 0` with `settings` (names as env vars in lower case)."""
    proc, log_path = _launch(tmp_path, settings)
    try:
        url = await _bound_url(proc, log_path)
        yield ServerProcess(url, proc, log_path)
    finally:
        if proc.poll() is None:
            proc.terminate()
        try:
            await asyncio.to_thread(proc.wait, 10)
        except subprocess.TimeoutExpired:
            proc.kill()
            await asyncio.to_thread(proc.wait, 5)


async def _bound_url(proc: subprocess.Popen[bytes], log_path: Path) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = re.search(r"listening on (http://\S+)", _read(log_path))
        if found:
            return found.group(1)
        assert proc.poll() is None, _read(log_path)
        await asyncio.sleep(0.05)
    raise AssertionError("the server did not report its port")


async def settle_rss(server: ServerProcess, seconds: float = 1.5) -> int:
    """The server's RSS once it stopped changing much (allocator noise aside), polled for at most `seconds`."""
    last = server.rss()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        now = server.rss()
        if abs(now - last) < MB:
            return now
        last = now
    return last


class NeverReader:
    """A WebSocket client with a tiny receive window that writes frames and never reads a byte."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.frames_sent = 0

    @classmethod
    async def open(cls, url: str, rcvbuf: int = 4096) -> NeverReader:
        host, port = url.removeprefix("http://").split(":")
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
            f"Host: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        await asyncio.get_running_loop().sock_sendall(sock, request.encode())
        return cls(sock)

    async def send(self, text: str, times: int = 1) -> bool:
        """`times` copies of one frame in one write; False once the server has dropped the connection."""
        try:
            await asyncio.wait_for(asyncio.get_running_loop().sock_sendall(self.sock, ws_frame(text) * times), 2)
        except (OSError, TimeoutError):
            return False
        self.frames_sent += times
        return True

    async def send_each(self, texts: list[str]) -> bool:
        """Distinct frames in one write; False once the server has dropped the connection."""
        try:
            data = b"".join(ws_frame(t) for t in texts)
            await asyncio.wait_for(asyncio.get_running_loop().sock_sendall(self.sock, data), 2)
        except (OSError, TimeoutError):
            return False
        self.frames_sent += len(texts)
        return True

    def dropped(self) -> bool:
        """Whether the server reset or closed the connection (without reading the unread backlog)."""
        if self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
            return True
        try:
            self.sock.send(ws_frame("6"))  # an Engine.IO NOOP: harmless to a live server
        except BlockingIOError:
            return False
        except OSError:
            return True
        return False

    def close(self) -> None:
        self.sock.close()


def ws_frame(text: str) -> bytes:
    """One masked text frame (mask key zero: the payload goes as is)."""
    payload = text.encode()
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x81, 0x80 | n)
    elif n < 65536:
        header = struct.pack("!BBH", 0x81, 0x80 | 126, n)
    else:
        header = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
    return header + b"\x00\x00\x00\x00" + payload


class RssWatch:
    """Samples a process's RSS in the background; `peak` is the highest seen."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.baseline = server.rss()
        self.peak = self.baseline
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> RssWatch:
        self._task = asyncio.get_running_loop().create_task(self._sample())
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self.peak = max(self.peak, self.server.rss())

    async def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, self.server.rss())
            await asyncio.sleep(0.1)

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.baseline) / MB
