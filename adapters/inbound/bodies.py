"""Request bodies read whole, or refused whole: `StreamReader.read(n)` returns whatever one TCP segment held."""

from __future__ import annotations

from aiohttp import StreamReader


async def read_whole(stream: StreamReader, limit: int) -> bytes | None:
    """The whole body (to its end: Content-Length or the last chunk), or None if it is longer than `limit`."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await stream.read(limit + 1 - size)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
