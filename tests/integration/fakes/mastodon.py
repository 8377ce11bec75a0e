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

    def __init__(self, token: str = "good-token", account_id: str = "109", flavour: str = "mastodon") -> None:
        super().__init__()
        # "mastodon" refuses media PUTs on attached media (404) and edits statuses whole; "pixelfed" the reverse
        self.flavour = flavour
        self.sources: dict[str, dict[str, str]] = {}  # status id -> its plain text and content warning
        self.applied_edits: list[tuple[str, str]] = []  # (what, id) of every write the instance applied
        # per request ("PUT /api/v1/statuses/1003"): HTTP statuses to answer before applying it, consumed in order
        self.fail_next: dict[str, list[int]] = {}
        self.write_delay = 0.0
        self.token = token
        self.account_id = account_id
        self.statuses: list[dict[str, Any]] = []
        self.link_headers = True
        # True: honour only_media/exclude_reblogs as Mastodon and Pixelfed do (statuses_count still counts all)
        self.honour_filters = False
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
            *self.publishing_routes(),
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
            "content": f"<p>Post number {status_id} #photo</p>",
            "spoiler_text": "",
            "sensitive": False,
            "language": "en",
            "visibility": "public",
            "reblog": {"id": "1", "media_attachments": media} if reblog else None,
            # Mastodon leaves a reblog's own list empty; some compatible servers copy the original's
            "media_attachments": media,
            "account": {"id": self.account_id, "username": "someone"},
        }
        self.statuses.insert(0, status)
        self.sources[status_id] = {"text": f"Post number {status_id} #photo", "spoiler_text": ""}
        return status

    async def _gate(self, endpoint: str, request: web.Request) -> web.Response | None:
        if self.delay:
            await asyncio.sleep(self.delay)  # the scenario: a slow instance
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
        if self.honour_filters and request.query.get("only_media") == "true":
            older = [s for s in older if s["media_attachments"]]
        if self.honour_filters and request.query.get("exclude_reblogs") == "true":
            older = [s for s in older if s["reblog"] is None]
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
            await asyncio.sleep(self.delay)  # the scenario: a slow instance
        if self.failures["instance"]:
            return web.json_response({"error": "oops"}, status=self.failures["instance"].pop(0))
        return web.json_response({"uri": request.host, "title": "Fake", "version": "4.2.0"})

    async def _media(self, request: web.Request) -> web.Response:
        found = self.media.get(request.match_info["name"])
        if found is None:
            return web.Response(status=404, text="Not Found")
        body, content_type = found
        return web.Response(body=body, content_type=content_type)

    # --- publishing: reading a status, editing it, updating media (issue 15) ---

    # Alt text limits of the real servers
    LIMITS = {"mastodon": 1500, "pixelfed": 1000}

    def publishing_routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/v1/statuses/{id}", self._status),
            web.get("/api/v1/statuses/{id}/source", self._source),
            web.put("/api/v1/statuses/{id}", self._edit_status),
            web.put("/api/v1/media/{id}", self._update_media),
        ]

    def status(self, status_id: str) -> dict[str, Any]:
        return next(s for s in self.statuses if s["id"] == status_id)

    def describe(self, media_id: str, description: str | None) -> None:
        """A person writes a description on the instance itself."""
        for status in self.statuses:
            for media in status["media_attachments"]:
                if media["id"] == media_id:
                    media["description"] = description

    async def _write_gate(self, request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"error": "The access token is invalid"}, status=401)
        queued = self.fail_next.get(f"{request.method} {request.path}")
        if queued:
            code = queued.pop(0)
            headers = {"Retry-After": self.retry_after} if code == 429 and self.retry_after else {}
            return web.json_response(
                {"error": "Too many requests" if code == 429 else "oops"}, status=code, headers=headers
            )
        return None

    def _find(self, status_id: str) -> dict[str, Any] | None:
        return next((s for s in self.statuses if s["id"] == status_id), None)

    async def _status(self, request: web.Request) -> web.Response:
        refused = await self._write_gate(request)
        if refused is not None:
            return refused
        status = self._find(request.match_info["id"])
        if status is None:
            return web.json_response({"error": "Record not found"}, status=404)
        return web.json_response(status)

    async def _source(self, request: web.Request) -> web.Response:
        refused = await self._write_gate(request)
        if refused is not None:
            return refused
        status_id = request.match_info["id"]
        if self.flavour != "mastodon" or self._find(status_id) is None:
            return web.json_response({"error": "Record not found"}, status=404)
        return web.json_response({"id": status_id, **self.sources[status_id]})

    async def _edit_status(self, request: web.Request) -> web.Response:
        """Mastodon's edit replaces the status: what the body omits is cleared (text) or dropped (media)."""
        refused = await self._write_gate(request)
        if refused is not None:
            return refused
        status = self._find(request.match_info["id"])
        if status is None or self.flavour != "mastodon":
            return web.json_response({"error": "Record not found"}, status=404)
        body = await request.json()
        owned = {m["id"]: m for m in status["media_attachments"]}
        media_ids = [str(i) for i in body.get("media_ids") or []]
        if any(i not in owned for i in media_ids):
            return web.json_response({"error": "Validation failed: media not attached to this status"}, status=422)
        text = body.get("status") or ""
        if not text and not media_ids:
            return web.json_response({"error": "Validation failed: Text can't be blank"}, status=422)
        attributes = {str(a.get("id")): a for a in body.get("media_attributes") or []}
        for attribute in attributes.values():
            description = attribute.get("description")
            if isinstance(description, str) and len(description) > self.LIMITS["mastodon"]:
                return web.json_response({"error": "Validation failed: Description is too long"}, status=422)
        if self.write_delay:
            await asyncio.sleep(self.write_delay)
        for media_id, attribute in attributes.items():
            if media_id in owned and "description" in attribute:
                owned[media_id]["description"] = attribute["description"] or None
        status["media_attachments"] = [owned[i] for i in media_ids]
        self.sources[status["id"]] = {"text": text, "spoiler_text": body.get("spoiler_text") or ""}
        status["content"] = f"<p>{text}</p>" if text else ""
        status["spoiler_text"] = body.get("spoiler_text") or ""
        status["sensitive"] = bool(body.get("sensitive", False))
        self.applied_edits.append(("status", status["id"]))
        return web.json_response(status)

    async def _update_media(self, request: web.Request) -> web.Response:
        """Pixelfed updates any of the account's media; Mastodon only media not yet attached (else 404)."""
        refused = await self._write_gate(request)
        if refused is not None:
            return refused
        media_id = request.match_info["id"]
        found = next((m for s in self.statuses for m in s["media_attachments"] if m["id"] == media_id), None)
        if found is None or self.flavour == "mastodon":
            return web.json_response({"error": "Record not found"}, status=404)
        body = await request.json() if request.content_type == "application/json" else dict(await request.post())
        description = body.get("description")
        if isinstance(description, str) and len(description) > self.LIMITS["pixelfed"]:
            return web.json_response({"error": "The description may not be greater than 1000 characters."}, status=422)
        if self.write_delay:
            await asyncio.sleep(self.write_delay)
        found["description"] = description or None
        self.applied_edits.append(("media", media_id))
        return web.json_response(found)
