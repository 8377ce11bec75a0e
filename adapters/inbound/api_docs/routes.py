"""Serves the API documents: /openapi.json (HTTP API), /asyncapi.json (events) and /docs/events (rendered)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from adapters.inbound.api_docs.asyncapi import asyncapi_document
from adapters.inbound.api_docs.openapi import openapi_document

EVENTS_PAGE = Path(__file__).resolve().parent.parent / "static" / "docs" / "events.html"
# The AsyncAPI component compiles JSON Schemas at run time (new Function) and sets inline styles:
# this page alone allows both; it shows only our own generated document and reads no session.
DOCS_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-cache",
}


def register_api_docs(app: web.Application) -> None:
    async def openapi(request: web.Request) -> web.Response:
        return web.json_response(openapi_document(request.app))

    async def asyncapi(request: web.Request) -> web.Response:
        return web.json_response(asyncapi_document(f"{request.scheme}://{request.host}"))

    async def events_page(_request: web.Request) -> web.StreamResponse:
        return web.FileResponse(EVENTS_PAGE, headers=DOCS_HEADERS)

    app.router.add_get("/openapi.json", openapi)
    app.router.add_get("/asyncapi.json", asyncapi)
    app.router.add_get("/docs/events", events_page)
