"""Headers every HTTP answer carries, whoever built it (pages, API, the engine's 400s, aiohttp's own errors)."""

from __future__ import annotations

from aiohttp import web


async def nosniff(_request: web.BaseRequest, response: web.StreamResponse) -> None:
    """No content sniffing: a 400 body that reflects input as text/plain must never be read as HTML or script."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
