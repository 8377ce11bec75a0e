"""A hand-driven Engine.IO/Socket.IO websocket, for sending what no well-behaved client would."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp


class RawSocket:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse, http: aiohttp.ClientSession) -> None:
        self.ws = ws
        self._http = http

    @classmethod
    async def open(cls, base_url: str, headers: dict[str, str] | None = None) -> RawSocket:
        http = aiohttp.ClientSession()
        url = base_url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        ws = await http.ws_connect(url, headers=headers or {})
        opened = await ws.receive_str(timeout=5)
        assert opened.startswith("0{"), opened
        return cls(ws, http)

    async def connect(self, auth: dict[str, Any], namespace: str = "/") -> Any:
        prefix = "" if namespace == "/" else namespace + ","
        await self.ws.send_str("40" + prefix + json.dumps(auth))
        return await self.expect(lambda m: m.startswith("4"))

    async def send(self, frame: str | bytes) -> None:
        if isinstance(frame, bytes):
            await self.ws.send_bytes(frame)
        else:
            await self.ws.send_str(frame)

    async def expect(self, predicate: Any, timeout: float = 5.0) -> str:
        """The next text frame matching `predicate`, answering pings on the way."""
        async with asyncio.timeout(timeout):
            while True:
                message = await self.ws.receive()
                if message.type != aiohttp.WSMsgType.TEXT:
                    raise ConnectionError(f"socket ended: {message.type}")
                if message.data == "2":
                    await self.ws.send_str("3")
                    continue
                if predicate(message.data):
                    return str(message.data)

    async def event(self, name: str, timeout: float = 5.0) -> Any:
        frame = await self.expect(lambda m: m.startswith("42") and f'["{name}"' in m, timeout)
        return json.loads(frame[frame.index("[") :])[1]

    async def close(self) -> None:
        await self.ws.close()
        await self._http.close()
