"""A receiving client that costs little per frame: raw WebSockets, frames counted by their prefix in one epoll thread.

The fan-out scenario receives tens of thousands of frames a second on 1000 sockets. An aiohttp
WebSocket per socket costs the load client ~40 us per frame here (a reader task woken per frame,
the frame parsed and decoded in Python), four times what a server spends sending it, so the client,
not the server, was the bottleneck. Here each socket is a plain non-blocking socket: the handshake
(HTTP upgrade, Engine.IO open, Socket.IO connect, join) runs on the event loop, then one thread
reads every socket with epoll and counts the broadcast frames with `bytes.count` on whatever one
`recv()` returned (often several frames), and answers Engine.IO pings.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import select
import socket
import threading
import time
from typing import Any
from urllib.parse import urlsplit

WS_PATH = "/socket.io/?EIO=4&transport=websocket"
PING = b"\x81\x012"  # an unmasked server TEXT frame of one byte: the Engine.IO ping "2"
TIMEOUT = 30.0


class HandshakeError(RuntimeError):
    pass


def masked_text(text: str) -> bytes:
    """A client TEXT frame (RFC 6455: clients mask)."""
    data = text.encode()
    size = len(data)
    if size < 126:
        head = bytes((0x81, 0x80 | size))
    elif size < 65536:
        head = b"\x81\xfe" + size.to_bytes(2, "big")
    else:
        head = b"\x81\xff" + size.to_bytes(8, "big")
    mask = os.urandom(4)
    key = int.from_bytes((mask * (size // 4 + 1))[:size], "big")
    return head + mask + (int.from_bytes(data, "big") ^ key).to_bytes(size, "big")


PONG = masked_text("3")


class RawSocket:
    """One socket through its handshake: `buffer` keeps what was received after the last frame read."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()

    async def _fill(self) -> None:
        data = await asyncio.wait_for(asyncio.get_running_loop().sock_recv(self.sock, 65536), TIMEOUT)
        if not data:
            raise HandshakeError("the server closed the socket during the handshake")
        self.buffer += data

    async def send(self, text: str) -> None:
        await asyncio.get_running_loop().sock_sendall(self.sock, masked_text(text))

    async def frame(self) -> str:
        """The next TEXT frame's text (server frames are unmasked and, from these servers, never fragmented)."""
        buf = self.buffer
        while True:
            if len(buf) >= 2:
                size, at = buf[1] & 0x7F, 2
                if size == 126:
                    size, at = (int.from_bytes(buf[2:4], "big"), 4) if len(buf) >= 4 else (-1, 0)
                elif size == 127:
                    size, at = (int.from_bytes(buf[2:10], "big"), 10) if len(buf) >= 10 else (-1, 0)
                if size >= 0 and len(buf) >= at + size:
                    opcode, payload = buf[0] & 0x0F, bytes(buf[at : at + size])
                    del buf[: at + size]
                    if opcode == 0x8:
                        raise HandshakeError("the server closed the WebSocket during the handshake")
                    if opcode == 0x1:
                        return payload.decode()
                    continue  # a WebSocket ping/pong: these servers send none unasked
            await self._fill()

    async def event(self) -> str:
        """The next Socket.IO packet that is not an Engine.IO ping (pings are answered)."""
        while True:
            text = await self.frame()
            if text == "2":
                await self.send("3")
            else:
                return text


async def open_raw(url: str, auth: dict[str, Any] | None, join: dict[str, Any] | None) -> RawSocket:
    """Connects one socket on "/" (auth in the CONNECT packet) and, if given, sends `join_room` and waits for `room_joined`."""
    loop = asyncio.get_running_loop()
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    raw = RawSocket(sock)
    try:
        await asyncio.wait_for(loop.sock_connect(sock, (host, port)), TIMEOUT)
        key = base64.b64encode(os.urandom(16)).decode()
        upgrade = (
            f"GET {WS_PATH} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        await loop.sock_sendall(sock, upgrade.encode())
        while b"\r\n\r\n" not in raw.buffer:
            await raw._fill()
        head, _, rest = bytes(raw.buffer).partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise HandshakeError(f"no WebSocket upgrade: {head[:200]!r}")
        raw.buffer = bytearray(rest)
        opening = await raw.frame()
        if not opening.startswith("0{"):
            raise HandshakeError(f"expected the Engine.IO open packet, got {opening[:80]!r}")
        await raw.send("40" if auth is None else "40" + json.dumps(auth, separators=(",", ":")))
        answer = await raw.event()
        if not answer.startswith("40"):
            raise HandshakeError(f"connection refused: {answer[:300]}")
        if join is not None:
            await raw.send("42" + json.dumps(["join_room", join], separators=(",", ":")))
            answer = await raw.event()
            if not answer.startswith('42["room_joined"'):
                raise HandshakeError(f"expected room_joined, got {answer[:300]}")
    except BaseException:
        sock.close()
        raise
    return raw


class Receiver:
    """Counts, per socket, the frames whose text starts with `prefix`, in a thread reading every socket.

    A match may straddle two reads: each read is counted as (the previous read's last bytes + this
    read), minus what those last bytes held on their own, so a match is counted once, by the read it
    ends in. `reached(n)` wakes the event loop once `total` is at least n. After each poll the thread
    sleeps `pause` seconds, so one `recv()` takes the frames of several broadcasts (the kernel holds
    them meanwhile: the servers' writes still succeed at once, nothing is queued on their side).
    """

    def __init__(self, sockets: list[RawSocket], prefix: str, pause: float = 0.0) -> None:
        self.sockets = sockets
        self.needle = ("42" + prefix).encode()
        self.counts = [0] * len(sockets)
        self.total = 0
        self.pings = 0
        self.reads = 0
        self.pause = pause
        self.error: str | None = None
        self._stopping = False
        self._lock = threading.Lock()
        self._waiter: tuple[int, asyncio.Future[None], asyncio.AbstractEventLoop] | None = None
        self._thread = threading.Thread(target=self._run, name="fanout-receiver", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def reached(self, at_least: int) -> asyncio.Future[None]:
        """Done once `total` >= at_least (or the thread failed: see `error`); one waiter at a time."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if self.total >= at_least or self.error is not None:
                future.set_result(None)
            else:
                self._waiter = (at_least, future, loop)
        return future

    def _wake(self, failed: bool = False) -> None:
        waiter = self._waiter
        if waiter is not None and (failed or self.total >= waiter[0]):
            self._waiter = None
            waiter[2].call_soon_threadsafe(_resolve, waiter[1])

    def stop(self) -> None:
        self._stopping = True
        self._thread.join(5.0)
        for raw in self.sockets:
            raw.sock.close()

    def _run(self) -> None:
        socks = [raw.sock for raw in self.sockets]
        keep = max(len(self.needle), len(PING)) - 1
        tails = [b""] * len(socks)
        index: dict[int, int] = {}
        poller = select.epoll(len(socks))
        try:
            for i, raw in enumerate(self.sockets):
                index[raw.sock.fileno()] = i
                poller.register(raw.sock.fileno(), select.EPOLLIN)
                if raw.buffer:  # received after the handshake's last frame
                    tails[i] = self._count(i, b"", bytes(raw.buffer))[-keep:]
            while not self._stopping:
                ready = poller.poll(0.1)
                self.reads += len(ready)
                for fd, _ in ready:
                    i = index[fd]
                    try:
                        data = socks[i].recv(1 << 18)
                    except BlockingIOError:
                        continue
                    if not data:
                        raise ConnectionError(f"socket {i} was closed by the server")
                    tails[i] = self._count(i, tails[i], data)[-keep:]
                if self.pause:
                    time.sleep(self.pause)
        except Exception as exc:  # reported by the scenario, which then fails
            with self._lock:
                self.error = f"{type(exc).__name__}: {exc}"
                self._wake(failed=True)
        finally:
            poller.close()

    def _count(self, i: int, tail: bytes, data: bytes) -> bytes:
        chunk = tail + data
        got = chunk.count(self.needle)  # the tail is shorter than the needle: it holds none on its own
        if got:
            self.counts[i] += got
            with self._lock:
                self.total += got
                self._wake()
        if PING in chunk:
            for _ in range(chunk.count(PING) - tail.count(PING)):
                self.sockets[i].sock.send(PONG)
                self.pings += 1
        return chunk


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
