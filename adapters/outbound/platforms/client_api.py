"""One request to a Mastodon-compatible client API (Mastodon, Pixelfed): bearer auth, retrying 429 and 5xx."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
from yarl import URL

from application.ports import PlatformUnavailable

log = logging.getLogger("vedfolnir.platforms")


class CredentialsRefused(PlatformUnavailable):
    """The instance answered 401 or 403: the token is wrong, revoked or lacks the scope."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retry_possible=False)


class ClientApi:
    """Requests with one retry policy: 429 waits for Retry-After (up to a cap), 5xx and timeouts back off."""

    def __init__(
        self,
        http: aiohttp.ClientSession | None,
        max_retries: int = 3,
        max_retry_after: float = 30.0,
        timeout: float = 15.0,
        backoff: float = 0.5,
    ) -> None:
        self._http = http
        self._owns_http = http is None
        self._max_retries = max_retries
        self._max_retry_after = max_retry_after
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._backoff = backoff

    async def close(self) -> None:
        """Closes the session this client created itself; a session passed in stays open."""
        if self._owns_http and self._http is not None:
            await self._http.close()
            self._http = None

    async def request(
        self,
        method: str,
        url: URL,
        token: str,
        body: dict[str, Any] | None = None,
        max_retries: int | None = None,
    ) -> tuple[Any, Mapping[str, Any] | None]:
        """The decoded JSON answer and the parsed Link header (None without one).

        A retried write sends the same whole state again, so retrying it is safe.
        """
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        retries = self._max_retries if max_retries is None else max_retries
        attempt = 0
        while True:
            wait = min(self._backoff * 2**attempt, self._max_retry_after)
            unreachable = True  # until the instance answers with something other than 5xx
            try:
                async with self._session().request(
                    method, url, json=body, headers=headers, timeout=self._timeout
                ) as resp:
                    if resp.status == 200:
                        try:
                            answer = await resp.json(content_type=None)
                        except ValueError:
                            raise PlatformUnavailable(f"{url.host} answered {url.path} with invalid JSON") from None
                        return answer, (resp.links if "Link" in resp.headers else None)
                    if resp.status in (401, 403):
                        raise CredentialsRefused(f"{url.host} refused the access token (HTTP {resp.status})")
                    if resp.status == 429:
                        unreachable = False
                        reason = "rate limited (HTTP 429)"
                        asked = retry_after_seconds(resp.headers.get("Retry-After"))
                        if asked is not None and asked > self._max_retry_after:
                            # retrying before the server allows it would only be refused again
                            raise PlatformUnavailable(f"{url.host} rate-limits us for another {asked:.0f}s")
                        wait = asked if asked is not None else wait
                    elif resp.status >= 500:
                        reason = f"HTTP {resp.status}"
                    else:
                        message = f"{url.host} answered {method} {url.path} with HTTP {resp.status}"
                        raise PlatformUnavailable(message, False)
            except TimeoutError:
                reason = "timed out"
            except aiohttp.ClientError as exc:
                reason = type(exc).__name__
            if attempt >= retries:
                message = f"{url.host} is unavailable ({reason}) after {attempt + 1} attempts"
                raise PlatformUnavailable(message, unreachable=unreachable)
            log.info("%s %s%s: %s; retrying in %.1fs", method, url.host, url.path, reason, wait)
            await asyncio.sleep(wait)
            attempt += 1

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession()
        return self._http


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a Retry-After header asks to wait (delta-seconds or HTTP date), or None if absent or unreadable."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)
