"""Images lacking alt text from a Mastodon or Pixelfed account, through the Mastodon-compatible client API."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import aiohttp
from yarl import URL

from adapters.outbound.platforms.client_api import ClientApi
from application.ports import PlatformUnavailable, PostPage
from domain.jobs import PostImage
from domain.platforms import PlatformConnection

log = logging.getLogger("vedfolnir.platforms")

_ACCOUNT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class MastodonPostSource:
    """A PostSource for any server speaking the Mastodon client API (Mastodon, Pixelfed).

    It asks for `only_media` and `exclude_reblogs`, but filters again itself, as not every server
    honours them. A sync's progress counts the statuses examined against the account's
    `statuses_count` (verify_credentials); statuses the server's filters leave out are examined too,
    so an exhausted listing reports them all. A `limit` of None (or 0, as for the demo source) means
    no limit.
    """

    def __init__(
        self,
        http: aiohttp.ClientSession | None,
        token_for: Callable[[PlatformConnection], Awaitable[str]],
        page_size: int = 40,
        max_retries: int = 3,
        max_retry_after: float = 30.0,
        timeout: float = 15.0,
        backoff: float = 0.5,
    ) -> None:
        self._api = ClientApi(http, max_retries, max_retry_after, timeout, backoff)
        self._token_for = token_for
        self._page_size = page_size

    async def close(self) -> None:
        """Closes the session this source created itself; a session passed in stays open."""
        await self._api.close()

    async def pages(
        self, platform: PlatformConnection, limit: int | None, include_described: bool = False
    ) -> AsyncIterator[PostPage]:
        base = instance_url(platform)
        token = await self._token_for(platform)
        account_id, total = await self._account(base, token)
        first = (base / "api/v1/accounts" / account_id / "statuses").with_query(
            limit=str(self._page_size), only_media="true", exclude_reblogs="true"
        )
        url: URL | None = first
        found = seen = 0
        requested: set[URL] = set()
        while url is not None and url not in requested:  # the set guards against a server whose links loop
            requested.add(url)
            statuses, links = await self._get(url, token)
            if not isinstance(statuses, list):
                raise PlatformUnavailable(f"{base.host} answered the statuses request with something unexpected")
            if not statuses:
                break
            seen += len(statuses)
            posts = [image for status in statuses for image in _images(status, include_described)]
            if limit:
                posts = posts[: limit - found]
            found += len(posts)
            yield PostPage(posts=posts, items_seen=seen, items_total=total)
            if limit and found >= limit:
                return
            url = _next_url(base, url, links, statuses)
        if total is not None and seen < total:
            # the listing is exhausted: the statuses the server's filters skipped were examined too
            yield PostPage(posts=[], items_seen=total, items_total=total)

    async def verify(self, platform: PlatformConnection) -> None:
        """One verify_credentials request, not retried: the instance answers and accepts the token."""
        base = instance_url(platform)
        token = await self._token_for(platform)
        await self._account(base, token, max_retries=0)

    async def _account(self, base: URL, token: str, max_retries: int | None = None) -> tuple[str, int | None]:
        """The token's account id and its statuses_count (None if the server gives none)."""
        account, _ = await self._get(base / "api/v1/accounts/verify_credentials", token, max_retries)
        account_id = str(account.get("id", "")) if isinstance(account, dict) else ""
        if not _ACCOUNT_ID.match(account_id):
            raise PlatformUnavailable(f"{base.host} did not say which account the token belongs to", False)
        return account_id, _count(account.get("statuses_count"))

    async def _get(self, url: URL, token: str, max_retries: int | None = None) -> tuple[Any, Mapping[str, Any] | None]:
        """The decoded JSON body and the parsed Link header (None without one), retrying what may pass."""
        return await self._api.request("GET", url, token, max_retries=max_retries)


def _count(value: Any) -> int | None:
    """A non-negative count from JSON (some servers send numbers as strings), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def instance_url(platform: PlatformConnection) -> URL:
    """The connection's instance as a base URL; shared by the post reader and the description writer."""
    base = URL(platform.instance_url.strip().rstrip("/"))
    if base.scheme not in ("http", "https") or not base.host:
        raise PlatformUnavailable(f"{platform.instance_url!r} is not an http(s) instance URL", False)
    return base


def _next_url(base: URL, current: URL, links: Mapping[str, Any] | None, statuses: list[Any]) -> URL | None:
    if links is not None:
        target = links.get("next", {}).get("url")
        if target is None:
            return None
        following = base.join(URL(str(target)))
        # the token goes with every request: never follow a link off the instance
        if following.origin() == base.origin():
            return following
        log.warning("%s sent a next link to another origin; paging by max_id instead", base.host)
    last = statuses[-1]
    last_id = str(last.get("id", "")) if isinstance(last, dict) else ""
    return current.update_query(max_id=last_id) if last_id else None


def _images(status: Any, include_described: bool = False) -> list[PostImage]:
    """The status's image attachments that lack a description (all of them with `include_described`); none for reblogs."""
    if not isinstance(status, dict) or status.get("reblog") is not None:
        return []
    status_id, post_url = status.get("id"), status.get("url") or status.get("uri")
    if status_id is None or not post_url:
        return []
    media = status.get("media_attachments") or []
    images = [m for m in media if isinstance(m, dict) and m.get("type") == "image"]
    found = []
    for media_item in images:
        description = media_item.get("description")
        image_url = media_item.get("url") or media_item.get("remote_url")
        described = isinstance(description, str) and bool(description.strip())
        if (described and not include_described) or not image_url:
            continue
        # keyed by the status's image count, not the undescribed count, so ids survive a partial fix
        post_id = str(status_id) if len(images) == 1 else f"{status_id}:{media_item.get('id')}"
        found.append(
            PostImage(
                post_id=post_id,
                post_url=str(post_url),
                image_url=str(image_url),
                status_id=str(status_id),
                media_id=str(media_item.get("id")) if media_item.get("id") is not None else None,
                description=description if described else None,
            )
        )
    return found
