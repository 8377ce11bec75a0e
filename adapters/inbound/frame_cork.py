"""Several WebSocket frames queued for one socket leave in one send(): one syscall per writer wake-up, not per frame."""

from __future__ import annotations

from typing import Any


class FrameCork:
    """Holds the frames an aiohttp WebSocket writer writes between `hold()` and `release()`, then writes them at once.

    An acked client event is answered by two packets (the reply event and the ack) that the engine's
    writer takes from the queue together and sends frame by frame: each frame was its own `send()`
    syscall, the costliest step per packet on a loaded machine. While held, the writer's transport is
    this object, which only collects bytes; `release()` puts the real transport back and writes them in
    one call. A single packet is never held (no extra work on the broadcast path). Control frames
    (close, ping, pong) are written through at once, after what was held.

    aiohttp has no public seam for this: `WebSocketResponse._writer.transport` is swapped (aiohttp's
    writer calls only `write` and `is_closing` on it).
    """

    __slots__ = ("_buffer", "_real", "_writer")

    def __init__(self, writer: Any) -> None:
        self._writer = writer
        self._real = writer.transport
        self._buffer: list[bytes] = []  # one per connection, empty while idle

    def hold(self) -> None:
        if self._writer.transport is self._real:
            self._writer.transport = self

    def release(self) -> None:
        if self._writer.transport is self:
            self._writer.transport = self._real
        if self._buffer:
            data = b"".join(self._buffer)
            self._buffer.clear()
            if not self._real.is_closing():
                self._real.write(data)

    # the transport, as aiohttp's writer sees it while held
    def write(self, data: bytes) -> None:
        self._buffer.append(bytes(data))
        if data[:1] and data[0] & 0x08 and data[0] & 0x80:  # FIN + a control opcode: close, ping or pong
            self.release()

    def is_closing(self) -> bool:
        return bool(self._real.is_closing())
