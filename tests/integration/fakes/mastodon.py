"""A fake Mastodon/Pixelfed instance: verify_credentials, paged account statuses with Link headers, instance info, media."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from tests.integration.fakes import FakeServer


class FakeMastodon(FakeServer):
    """Statuses are kept newest first with numeric ids; knobs are plain attributes tests set.

    Like servers that ignore `only_media`/`exclude_reblogs`, it returns every status, so the client's
    own filtering is what the tests exercise.
    """

    def __init__(self, token: str = "good-token", account_id: str = "109") -> None:
        super().__init__()
        self.token = token
        self.account_id = account_id
        self.statuses: list[dict[str, Any]] = []
        self.link_headers = True
        self.max_page = 40
        self.retry_after: str | None = "1"
        self.delay = 0.0
        # HTTP statuses the next requests of an endpoint get instead of an answer, consumed in order (0: answer)
        self.failures: dict[str, list[int]] = {"verify": [], "statuses": [], "instance": []}
        # while an unset Event, verify_credentials and statuses requests wait for it to be set
        self.hold: asyncio.Event | None = None
        # the attachment files served under /media/ (no token needed, as on real instances): name -> body, type
        self.media: dict[str, tuple[bytes, str]] = {}

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/v1/accounts/verify_credentials", self._verify),
            web.get("/api/v1/accounts/{id}/statuses", self._statuses),
            web.get("/api/v1/instance", self._instance),
            web.get("/media/{name:.+}", self._media),
        ]

    def serve_media(self, url: str, body: bytes, content_type: str = "image/png") -> None:
        """Serves `body` at an attachment URL of this instance (one that add_status made)."""
        self.media[url.split("/media/", 1)[1]] = (body, content_type)

    def add_status(
        self, descriptions: list[str | None], reblog: bool = False, media_type: str = "image"
    ) -> dict[str, Any]:
        """Adds the newest status, one attachment per description (None: no alt text)."""
        status_id = str(1000 + len(self.statuses))
        media = [
            {
                "id": f"{status_id}{n}",
                "type": media_type,
                "url": f"{self.base_url}/media/{status_id}-{n}.png",
                "preview_url": f"{self.base_url}/media/small/{status_id}-{n}.png",
                "remote_url": None,
                "description": description,
                "blurhash": "UBL_:rOpGG-;~qRjWBay00xu4nof",
            }
            for n, description in enumerate(descriptions)
        ]
        status = {
            "id": status_id,
            "created_at": "2024-05-01T12:00:00.000Z",
            "url": f"{self.base_url}/@someone/{status_id}",
            "uri": f"{self.base_url}/users/someone/statuses/{status_id}",
            "content": "<p>hello</p>",
            "visibility": "public",
            "reblog": {"id": "1", "media_attachments": media} if reblog else None,
            # Mastodon leaves a reblog's own list empty; some compatible servers copy the original's
            "media_attachments": media,
            "account": {"id": self.account_id, "username": "someone"},
        }
        self.statuses.insert(0, status)
        return status

    async def _gate(self, endpoint: str, request: web.Request) -> web.Response | None:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.hold is not None:
            await self.hold.wait()
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"error": "The access token is invalid"}, status=401)
        status = self.failures[endpoint].pop(0) if self.failures[endpoint] else 0
        if status:
            headers = {"Retry-After": self.retry_after} if status == 429 and self.retry_after else {}
            return web.json_response(
                {"error": "Too many requests" if status == 429 else "oops"}, status=status, headers=headers
            )
        return None

    async def _verify(self, request: web.Request) -> web.Response:
        refused = await self._gate("verify", request)
        if refused is not None:
            return refused
        return web.json_response({"id": self.account_id, "username": "someone", "statuses_count": len(self.statuses)})

    async def _statuses(self, request: web.Request) -> web.Response:
        refused = await self._gate("statuses", request)
        if refused is not None:
            return refused
        if request.match_info["id"] != self.account_id:
            return web.json_response({"error": "Record not found"}, status=404)
        limit = min(int(request.query.get("limit", "20")), self.max_page)
        max_id = request.query.get("max_id")
        older = [s for s in self.statuses if max_id is None or int(s["id"]) < int(max_id)]
        page = older[:limit]
        headers = {}
        if page and self.link_headers:
            kept = {k: v for k, v in request.query.items() if k not in ("max_id", "min_id", "since_id")}
            url = request.url.with_query(kept)
            next_url = url.update_query(max_id=page[-1]["id"])
            prev_url = url.update_query(min_id=page[0]["id"])
            headers["Link"] = f'<{next_url}>; rel="next", <{prev_url}>; rel="prev"'
        return web.json_response(page, headers=headers)

    async def _instance(self, request: web.Request) -> web.Response:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.failures["instance"]:
            return web.json_response({"error": "oops"}, status=self.failures["instance"].pop(0))
        return web.json_response({"uri": request.host, "title": "Fake", "version": "4.2.0"})

    async def _media(self, request: web.Request) -> web.Response:
        found = self.media.get(request.match_info["name"])
        if found is None:
            return web.Response(status=404, text="Not Found")
        body, content_type = found
        return web.Response(body=body, content_type=content_type)
