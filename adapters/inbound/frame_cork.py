"""Frames for one socket leave in one send(): written straight from the emitter when the socket is idle, and
the frames of one writer wake-up, or of one loop turn, gathered into one syscall."""

from __future__ import annotations

import asyncio
from typing import Any

MAX_DIRECT_BYTES = 64 * 1024  # past this, within one loop turn, packets take the queue (and its budget)


class FrameCork:
    """Holds the frames bound for one aiohttp WebSocket and writes them to its transport in one call.

    Two ways in:
    - `hold()` / `release()`: the engine's writer took several packets at once (an acked event is
      answered by the reply event and the ack) and sends them frame by frame; while held, the writer's
      transport is this object, which only collects the bytes; `release()` writes them at once.
    - `write_now(text)`: an emitter writes one packet without waking the writer, when nothing can be
      ahead of it (the engine socket checks its queue; here: nothing held, the TCP buffer empty). The
      frames of one loop turn go out in one write at the end of it.
    Control frames (close, ping, pong) written by aiohttp while held go out at once, after what was held.

    aiohttp has no public seam for this: `WebSocketResponse._writer.transport` is swapped (aiohttp's
    writer calls only `write` and `is_closing` on it) and the frame header is built here (RFC 6455,
    unmasked server frame).
    """

    __slots__ = ("_buffer", "_buffered", "_real", "_scheduled", "_writer")

    def __init__(self, writer: Any) -> None:
        self._writer = writer
        self._real = writer.transport
        self._buffer: list[bytes] = []  # one per connection, empty while idle
        self._buffered = 0
        self._scheduled = False

    def hold(self) -> None:
        if self._writer.transport is self._real:
            self._writer.transport = self

    def release(self) -> None:
        if self._writer.transport is self:
            self._writer.transport = self._real
        if self._buffer:
            data = self._buffer[0] if len(self._buffer) == 1 else b"".join(self._buffer)
            self._buffer.clear()
            self._buffered = 0
            if not self._real.is_closing():
                self._real.write(data)

    def write_now(self, text: str) -> bool:
        """Queues one TEXT frame for the end of this loop turn; False when it must take the socket's queue."""
        writer, real = self._writer, self._real
        if writer.transport is not real or getattr(writer, "_closing", False):
            return False
        if real.is_closing() or real.get_write_buffer_size() or self._buffered > MAX_DIRECT_BYTES:
            return False
        frame = _text_frame(text)
        self._buffer.append(frame)
        self._buffered += len(frame)
        if not self._scheduled:
            self._scheduled = True
            loop = asyncio.get_running_loop()
            if _scheduled_on[0] is not loop:
                _scheduled_on[0] = loop
                loop.call_soon(_end_of_turn)
            _due.append(self)
        return True

    def _end_of_turn(self) -> None:
        self._scheduled = False
        if self._writer.transport is self._real:  # else the writer holds it and releases it itself
            self.release()

    # the transport, as aiohttp's writer sees it while held
    def write(self, data: bytes) -> None:
        self._buffer.append(bytes(data))
        if data[:1] and data[0] & 0x08 and data[0] & 0x80:  # FIN + a control opcode: close, ping or pong
            self.release()

    def is_closing(self) -> bool:
        return bool(self._real.is_closing())


# Corks with frames waiting for the end of this loop turn: one callback for all (a broadcast reaches many).
_due: list[FrameCork] = []
_scheduled_on: list[asyncio.AbstractEventLoop | None] = [None]  # the loop whose callback will run them


def _end_of_turn() -> None:
    _scheduled_on[0] = None
    due = _due[:]
    _due.clear()
    for cork in due:
        cork._end_of_turn()


# The text written last and its frame (header + UTF-8): a broadcast writes one text to every socket in turn.
_last: list[tuple[str | None, bytes]] = [(None, b"")]


def _text_frame(text: str) -> bytes:
    last_text, frame = _last[0]
    if last_text is text:
        return frame
    data = text.encode()
    size = len(data)
    if size < 126:
        header = bytes((0x81, size))
    elif size < 65536:
        header = b"\x81\x7e" + size.to_bytes(2, "big")
    else:
        header = b"\x81\x7f" + size.to_bytes(8, "big")
    frame = header + data
    _last[0] = (text, frame)
    return frame
