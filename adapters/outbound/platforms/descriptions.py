"""Writes image descriptions back to Pixelfed and Mastodon posts through their client APIs.

Pixelfed updates an attached image with `PUT /api/v1/media/:id`. Mastodon answers that with 404 once
the media is attached to a status, so a status is edited instead (`PUT /api/v1/statuses/:id`), and an
edit replaces the whole status: it carries the status's own text (from `/source`), its content
warning, sensitivity, language and every attachment with its description, or the edit would clear
the text and drop the other images.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from yarl import URL

from adapters.outbound.platforms.client_api import ClientApi
from adapters.outbound.platforms.mastodon import instance_url
from application.ports import PlatformUnavailable
from application.review_ports import RemotePost
from domain.platforms import PlatformConnection, PlatformType


class MastodonDescriptionWriter:
    """A DescriptionWriter for servers speaking the Mastodon client API; retries 429 (after Retry-After) and 5xx."""

    def __init__(
        self,
        http: aiohttp.ClientSession | None,
        token_for: Callable[[PlatformConnection], Awaitable[str]],
        max_retries: int = 3,
        max_retry_after: float = 30.0,
        timeout: float = 15.0,
        backoff: float = 0.5,
    ) -> None:
        self._api = ClientApi(http, max_retries, max_retry_after, timeout, backoff)
        self._token_for = token_for

    async def close(self) -> None:
        await self._api.close()

    async def read(self, platform: PlatformConnection, status_id: str) -> RemotePost:
        base, token = instance_url(platform), await self._token_for(platform)
        status = await self._call("GET", base / "api/v1/statuses" / status_id, token)
        media = status.get("media_attachments") if isinstance(status, dict) else None
        descriptions: dict[str, str | None] = {}
        for item in media or []:
            if isinstance(item, dict) and item.get("id") is not None:
                description = item.get("description")
                descriptions[str(item["id"])] = description if isinstance(description, str) else None
        if platform.platform_type is PlatformType.PIXELFED:
            return RemotePost(descriptions, None)
        source = await self._call("GET", base / "api/v1/statuses" / status_id / "source", token)
        if not isinstance(source, dict) or not isinstance(source.get("text"), str):
            raise PlatformUnavailable(f"{base.host} did not give the post's own text; not editing it", False)
        return RemotePost(descriptions, (status, source))

    async def write(
        self, platform: PlatformConnection, status_id: str, captions: dict[str, str], remote: RemotePost
    ) -> None:
        base, token = instance_url(platform), await self._token_for(platform)
        if platform.platform_type is PlatformType.PIXELFED:
            for media_id, caption in captions.items():
                answer = await self._call("PUT", base / "api/v1/media" / media_id, token, {"description": caption})
                if isinstance(answer, dict) and answer.get("description") not in (None, caption):
                    raise PlatformUnavailable(f"{base.host} kept another description than the one sent", True)
            return
        status, source = remote.snapshot
        body = _status_edit(status, source, captions)
        answer = await self._call("PUT", base / "api/v1/statuses" / status_id, token, body)
        kept = [str(m.get("id")) for m in answer.get("media_attachments") or []] if isinstance(answer, dict) else []
        if kept != body["media_ids"]:
            raise PlatformUnavailable(f"{base.host} changed the post's attachments on the edit", False)

    async def _call(self, method: str, url: URL, token: str, body: dict[str, Any] | None = None) -> Any:
        """The decoded JSON answer; retries 429 and 5xx (a retried write sends the same whole state again)."""
        answer, _ = await self._api.request(method, url, token, body)
        return answer


def _status_edit(status: dict[str, Any], source: dict[str, Any], captions: dict[str, str]) -> dict[str, Any]:
    """The whole status as it is, but for our descriptions on our images."""
    media = [m for m in status.get("media_attachments") or [] if isinstance(m, dict)]
    attributes = []
    for m in media:
        attribute: dict[str, Any] = {"id": str(m.get("id"))}
        attribute["description"] = captions.get(attribute["id"], m.get("description") or "")
        focus = (m.get("meta") or {}).get("focus") if isinstance(m.get("meta"), dict) else None
        if isinstance(focus, dict) and "x" in focus and "y" in focus:
            attribute["focus"] = f"{focus['x']},{focus['y']}"
        attributes.append(attribute)
    body: dict[str, Any] = {
        "status": source["text"],
        "spoiler_text": source.get("spoiler_text") or "",
        "sensitive": bool(status.get("sensitive", False)),
        "media_ids": [a["id"] for a in attributes],
        "media_attributes": attributes,
    }
    if status.get("language"):
        body["language"] = status["language"]
    return body
