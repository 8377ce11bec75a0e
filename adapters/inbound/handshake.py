"""What a Socket.IO handshake's HTTP request says about the browser behind it (Origin, fetch metadata, cookies)."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

CsrfMode = Literal["origin", "token"]


def origin_proven(environ: dict[str, Any], mode: str, allowed: list[str] | str) -> bool:
    """CSRF_MODE=origin: a browser proved where the page that opened this connection comes from.

    Either its `Origin` is one of the allowed origins (a wildcard proves nothing), or its fetch metadata
    says the request is same-origin (`Sec-Fetch-Site: same-origin`; browsers omit `Origin` on same-origin
    GETs, the first request of long-polling). Browsers set both headers themselves and pages cannot;
    that is OWASP's defence against cross-site WebSocket hijacking. Clients that are not browsers send
    neither and prove CSRF with a token as before.
    """
    if mode != "origin":
        return False
    origin = environ.get("HTTP_ORIGIN")
    if origin and allowed != "*" and origin.rstrip("/") in allowed:
        return True
    return environ.get("HTTP_SEC_FETCH_SITE") == "same-origin"


def cross_origin_polling_without_cookies(environ: dict[str, Any]) -> str | None:
    """The Origin of a cross-origin long-polling handshake that carried no cookie at all, else None.

    A browser sends cookies on such a request only when the page's client sets `withCredentials: true`
    (WebSocket handshakes always carry them), so this is how a missing `withCredentials` looks.
    """
    origin = environ.get("HTTP_ORIGIN")
    if not origin or environ.get("HTTP_COOKIE"):
        return None
    if "transport=polling" not in environ.get("QUERY_STRING", ""):
        return None
    host = environ.get("HTTP_HOST", "")
    return origin if urlsplit(origin).netloc.lower() != host.lower() else None


def cookie_value(header: str | None, name: str) -> str | None:
    """The first cookie called `name` in a Cookie header, read the way browsers write it (RFC 6265 5.4).

    Not http.cookies.SimpleCookie: it stops at the first cookie it finds malformed (JSON, a space), and
    a browser sends every cookie of the host (cookies are per host, not per port) next to the session.
    """
    for pair in (header or "").split(";"):
        key, sep, value = pair.partition("=")
        if sep and key.strip() == name:
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            return value or None
    return None
