"""Serves the API documents: /openapi.json (HTTP API)."""

from __future__ import annotations

from aiohttp import web

from adapters.inbound.api_docs.openapi import openapi_document


def register_api_docs(app: web.Application) -> None:
    async def openapi(request: web.Request) -> web.Response:
        return web.json_response(openapi_document(request.app))

    app.router.add_get("/openapi.json", openapi)
