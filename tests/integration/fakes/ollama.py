"""A fake Ollama server (/api/generate, /api/version, /api/tags) that also serves the images to caption."""

from __future__ import annotations

import asyncio
import base64
import json
import struct
import zlib
from typing import Any

from aiohttp import web

from tests.integration.fakes import FakeServer


def tiny_png(red: int = 255, green: int = 0, blue: int = 0) -> bytes:
    """A valid 1x1 RGB PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(bytes([0, red, green, blue]))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


TINY_PNG = tiny_png()


class FakeOllama(FakeServer):
    """Answers /api/generate with `response` after `delay`; `failures` are HTTP statuses served first, in order."""

    def __init__(self, models: list[str] | None = None) -> None:
        super().__init__()
        self.models = ["llava:latest"] if models is None else models
        self.version = "0.5.7"
        self.response = "A red pixel."
        self.delay = 0.0
        self.failures: list[int] = []
        self.generated: list[dict[str, Any]] = []
        self.answered = 0  # /api/generate requests finished, however they ended
        # per image (keyed by image_key of its bytes): overrides of `response`, `delay` and `failures`
        self.responses: dict[str, str] = {}
        self.delays: dict[str, float] = {}
        self.image_failures: dict[str, list[int]] = {}
        self._images: dict[str, tuple[bytes, str, bool]] = {}

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/api/generate", self._generate),
            web.get("/api/version", self._version),
            web.get("/api/tags", self._tags),
            web.get("/images/{name}", self._image),
        ]

    def add_image(
        self, name: str, body: bytes = TINY_PNG, content_type: str = "image/png", chunked: bool = False
    ) -> str:
        """Serves `body` at the returned URL; `chunked` sends it without a Content-Length."""
        self._images[name] = (body, content_type, chunked)
        return f"{self.base_url}/images/{name}"

    @staticmethod
    def image_key(image: bytes) -> str:
        """How /api/generate carries an image: its base64."""
        return base64.b64encode(image).decode("ascii")

    def generations_of(self, image: bytes) -> list[dict[str, Any]]:
        """The /api/generate requests that carried exactly this image."""
        key = self.image_key(image)
        return [body for body in self.generated if body.get("images") == [key]]

    def _has(self, model: str) -> bool:
        def plain(name: str) -> str:
            return name.removesuffix(":latest")

        return plain(model) in {plain(m) for m in self.models}

    async def _generate(self, request: web.Request) -> web.Response:
        try:
            return await self._answer(request)
        finally:
            self.answered += 1  # asked and answered (or given up on): nothing of it is in flight

    async def _answer(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.generated.append(body)
        images = body.get("images") or [""]
        key = images[0] if isinstance(images, list) and images and isinstance(images[0], str) else ""
        delay = self.delays.get(key, self.delay)
        if delay:
            await asyncio.sleep(delay)  # the scenario: a model's latency
        if not self._has(body.get("model", "")):
            error = f'model "{body.get("model")}" not found, try pulling it first'
            return web.json_response({"error": error}, status=404)
        failures = self.image_failures.get(key) or self.failures
        if failures:
            status = failures.pop(0)
            return web.json_response({"error": "llama runner process has terminated"}, status=status)
        answer = {
            "model": body["model"],
            "created_at": "2024-05-01T12:00:00.000000Z",
            "response": self.responses.get(key, self.response),
            "done": True,
            "done_reason": "stop",
            "context": [1, 2, 3],
            "total_duration": 1_234_567,
            "eval_count": 12,
        }
        return web.Response(text=json.dumps(answer), content_type="application/json")

    async def _version(self, request: web.Request) -> web.Response:
        if self.delay:
            await asyncio.sleep(self.delay)  # the scenario: a slow server
        return web.json_response({"version": self.version})

    async def _tags(self, request: web.Request) -> web.Response:
        if self.delay:
            await asyncio.sleep(self.delay)  # the scenario: a slow server
        models = [
            {"name": m, "model": m, "size": 4_733_363_377, "digest": "8dd30f6b0cb1", "details": {"family": "llama"}}
            for m in self.models
        ]
        return web.json_response({"models": models})

    async def _image(self, request: web.Request) -> web.StreamResponse:
        found = self._images.get(request.match_info["name"])
        if found is None:
            return web.Response(status=404, text="Not Found")
        body, content_type, chunked = found
        if not chunked:
            return web.Response(body=body, content_type=content_type)
        response = web.StreamResponse(headers={"Content-Type": content_type})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(body), 16 * 1024):
            await response.write(body[start : start + 16 * 1024])
        await response.write_eof()
        return response
