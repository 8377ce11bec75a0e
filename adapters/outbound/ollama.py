"""Captions from a vision model served by Ollama (/api/generate), for images downloaded from the platform."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
from yarl import URL

from application.ports import CaptionFailure, GeneratedCaption
from domain.jobs import PostImage

log = logging.getLogger("vedfolnir.captions")

T = TypeVar("T")

DEFAULT_PROMPT = (
    "Write alt text for this image for people who use screen readers. "
    "Describe the main subject, what is happening, and the setting; mention any legible text. "
    "Be factual and concise: one or two plain sentences, at most 400 characters. "
    "Do not start with 'Image of' or 'Picture of', do not guess at identities, "
    "and answer with the alt text only, without quotes or a label."
)

_MODEL_NOT_FOUND = re.compile(r"model\s.*not found", re.IGNORECASE)
_LABEL = re.compile(r"^(?:alt[\s-]?text|image description|description|caption)\s*:\s*", re.IGNORECASE)
_QUOTE_PAIRS = {'"': '"', "'": "'", "\u201c": "\u201d", "\u2018": "\u2019", "`": "`"}
_CHUNK = 64 * 1024


class OllamaCaptionGenerator:
    """A CaptionGenerator on Ollama's /api/generate.

    confidence_score is always None: Ollama reports no confidence for a generation, and a made-up
    number would mislead reviewers. Retryable failures are retried `max_retries` times with
    exponential backoff; processing_time covers the whole caption, download and retries included.
    """

    def __init__(
        self,
        http: aiohttp.ClientSession | None,
        base_url: str = "http://127.0.0.1:11434",
        model: str = "llava",
        prompt: str = DEFAULT_PROMPT,
        timeout: float = 120.0,
        max_image_bytes: int = 10 * 1024 * 1024,
        max_caption_chars: int = 500,
        max_retries: int = 2,
        seconds_per_post_estimate: float = 10.0,
        download_timeout: float = 30.0,
        backoff: float = 1.0,
    ) -> None:
        self._http = http
        self._owns_http = http is None
        self._base = URL(base_url.rstrip("/"))
        self._model = model
        self._prompt = prompt
        self._timeout_seconds = timeout
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._download_timeout = aiohttp.ClientTimeout(total=download_timeout)
        self._max_image_bytes = max_image_bytes
        self._max_caption_chars = max_caption_chars
        self._max_retries = max_retries
        self._seconds_per_post = seconds_per_post_estimate
        self._backoff = backoff

    @property
    def seconds_per_post_estimate(self) -> float:
        return self._seconds_per_post

    async def close(self) -> None:
        """Closes the session this generator created itself; a session passed in stays open."""
        if self._owns_http and self._http is not None:
            await self._http.close()
            self._http = None

    async def caption(self, post: PostImage) -> GeneratedCaption:
        started = time.perf_counter()
        image = await self._retrying(lambda: self._download(post.image_url))
        text = await self._retrying(lambda: self._generate(image))
        return GeneratedCaption(text=text, confidence_score=None, processing_time=time.perf_counter() - started)

    async def _retrying(self, attempt: Callable[[], Awaitable[T]]) -> T:
        for number in range(self._max_retries + 1):
            try:
                return await attempt()
            except CaptionFailure as failure:
                if not failure.retry_possible or number >= self._max_retries:
                    raise
                wait = self._backoff * 2**number
                log.info("%s: %s; retrying in %.1fs", failure.error_type, failure.message, wait)
                await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    async def _download(self, image_url: str) -> bytes:
        url = URL(image_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise CaptionFailure("INVALID_IMAGE", f"The image URL {image_url!r} is not http(s)", False)
        cap = self._max_image_bytes
        too_large = CaptionFailure("INVALID_IMAGE", f"The image is larger than {cap} bytes", False)
        data = bytearray()
        try:
            async with self._session().get(url, timeout=self._download_timeout) as resp:
                if resp.status != 200:
                    retry = resp.status >= 500 or resp.status in (408, 429)
                    message = f"Downloading the image from {url.host} answered HTTP {resp.status}"
                    raise CaptionFailure("IMAGE_DOWNLOAD_ERROR", message, retry)
                # SVG is image/* but not something a vision model can read
                if not resp.content_type.startswith("image/") or resp.content_type == "image/svg+xml":
                    message = f"The image URL served {resp.content_type or 'no content type'}, not an image"
                    raise CaptionFailure("INVALID_IMAGE", message, False)
                if resp.content_length is not None and resp.content_length > cap:
                    raise too_large
                async for chunk in resp.content.iter_chunked(_CHUNK):
                    data += chunk
                    if len(data) > cap:
                        raise too_large
        except TimeoutError:
            raise CaptionFailure(
                "IMAGE_DOWNLOAD_ERROR", f"Downloading the image from {url.host} timed out", True
            ) from None
        except aiohttp.ClientError as exc:
            message = f"Downloading the image from {url.host} failed: {type(exc).__name__}"
            raise CaptionFailure("IMAGE_DOWNLOAD_ERROR", message, True) from exc
        if not data:
            raise CaptionFailure("INVALID_IMAGE", "The image is empty", False)
        return bytes(data)

    async def _generate(self, image: bytes) -> str:
        payload = {
            "model": self._model,
            "prompt": self._prompt,
            "images": [base64.b64encode(image).decode("ascii")],
            "stream": False,
        }
        timeout = self._timeout_seconds
        try:
            async with self._session().post(self._base / "api/generate", json=payload, timeout=self._timeout) as resp:
                status, body = resp.status, await resp.text()
        except TimeoutError:
            raise CaptionFailure("OLLAMA_TIMEOUT", f"Ollama gave no caption within {timeout:g}s", True) from None
        except aiohttp.ClientError as exc:
            message = f"Failed to connect to Ollama at {self._base}: {type(exc).__name__}"
            raise CaptionFailure("OLLAMA_CONNECTION_ERROR", message, True) from exc
        answer = _json_object(body)
        error = str(answer.get("error") or body[:200]).strip()
        if status == 404 and _MODEL_NOT_FOUND.search(error):
            message = f"Ollama has no model {self._model!r}; pull it first (ollama pull {self._model})"
            raise CaptionFailure("OLLAMA_MODEL_NOT_FOUND", message, False)
        if status != 200 or "error" in answer:
            raise CaptionFailure("OLLAMA_SERVER_ERROR", f"Ollama answered HTTP {status}: {error}", status >= 500)
        response = answer.get("response")
        text = clean_caption(response, self._max_caption_chars) if isinstance(response, str) else ""
        if not text:
            raise CaptionFailure("OLLAMA_EMPTY_RESPONSE", "Ollama answered with an empty caption", True)
        return text

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession()
        return self._http


def clean_caption(raw: str, max_chars: int) -> str:
    """One line of alt text: whitespace collapsed, a label or surrounding quotes removed, cut at a word boundary."""
    text = " ".join(raw.split())
    text = _LABEL.sub("", text)
    while len(text) >= 2 and _QUOTE_PAIRS.get(text[0]) == text[-1]:
        text = text[1:-1].strip()
    if len(text) <= max_chars:
        return text
    head = text[: max_chars + 1]
    cut = head.rsplit(" ", 1)[0] if " " in head else text[:max_chars]
    return cut.rstrip(" ,;:-")


def _json_object(body: str) -> dict[str, Any]:
    try:
        decoded = json.loads(body)
    except ValueError:
        return {}
    return decoded if isinstance(decoded, dict) else {}
