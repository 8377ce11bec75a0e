"""The served web pages (user page, admin dashboard, sign-in) and the cookie-authenticated calls they make."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web

from adapters.inbound.client_address import ClientAddress
from adapters.inbound.http_api import STATUS_BY_CODE, json_response, read_json, respond
from application.ports import Clock, TokenSource
from domain import events, messages
from domain.access import ADMIN_NAMESPACE, USER_NAMESPACE
from domain.errors import DomainError, ErrorCode
from domain.identity import Session, User

log = logging.getLogger("vedfolnir.pages")

STATIC_DIR = Path(__file__).with_name("static")
PROJECT_ROOT = Path(__file__).resolve().parents[2]
VENDOR_FILES = {
    "socket.io.esm.min.js": "socket.io-client/dist/socket.io.esm.min.js",
    "socket.io.esm.min.js.map": "socket.io-client/dist/socket.io.esm.min.js.map",
}
DEMO_USERS = {"demo": "/", "admin": "/admin/"}
CSRF_HEADER = "X-CSRF-Token"

# Pages and their scripts load only from this origin; sockets and fetches go only to it.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; connect-src 'self'; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-cache",
}

_FORBIDDEN = {ErrorCode.CSRF_TOKEN_INVALID: 403, ErrorCode.CORS_ORIGIN_NOT_ALLOWED: 403}

WhoAmIFn = Callable[[str | None, str], Awaitable[tuple[User, Session]]]
# A cookie-authenticated call: the signed-in user, the path and query parameters, the JSON body (None for GET).
SessionAction = Callable[[User, dict[str, str], Any], Awaitable[tuple[int, dict[str, Any]]]]


def register_pages(
    app: web.Application,
    *,
    demo_mode: bool,
    cookie_name: str,
    login_url: str,
    session_ttl: float,
    issue_session: Callable[[str, float], Awaitable[Session]],
    revoke_session: Callable[[str], Awaitable[bool]],
    whoami: WhoAmIFn,
    start_job: Callable[[int], Awaitable[Any]],
    notify_user: Callable[[Any], Awaitable[dict[str, Any]]],
    clock: Clock,
    tokens: TokenSource,
    static_dir: Path = STATIC_DIR,
    node_modules: Path | None = None,
    session_routes: Sequence[tuple[str, str, SessionAction]] = (),
    allowed_origins: list[str] | str | None = None,
    trusted_proxies: Iterable[str] = (),
) -> None:
    """Adds the pages' routes to `app`; every argument is a plain callable or value (no container)."""
    pages = _Pages(demo_mode, cookie_name, login_url, session_ttl, issue_session, revoke_session, whoami, clock, tokens)
    pages.allowed_origins = "*" if allowed_origins == "*" else frozenset(allowed_origins or ())
    pages.address = ClientAddress(trusted_proxies)
    vendor_roots = [node_modules] if node_modules else [PROJECT_ROOT / "node_modules", Path.cwd() / "node_modules"]

    def page(name: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handler(_request: web.Request) -> web.StreamResponse:
            return web.FileResponse(static_dir / name, headers=PAGE_HEADERS)

        return handler

    async def no_icon(_request: web.Request) -> web.StreamResponse:
        return web.Response(status=204, headers={"Cache-Control": "max-age=86400"})

    async def admin_redirect(_request: web.Request) -> web.StreamResponse:
        raise web.HTTPPermanentRedirect("/admin/")

    async def vendor(request: web.Request) -> web.StreamResponse:
        relative = VENDOR_FILES[request.match_info["name"]]
        for root in vendor_roots:
            if (root / relative).is_file():
                return web.FileResponse(root / relative, headers=PAGE_HEADERS)
        return web.Response(
            status=503,
            text=f"node_modules/{relative} is missing: run `make install` (npm ci) in the project folder\n",
            headers={"Cache-Control": "no-store"},
        )

    async def started(user: User, _session: Session, _body: Any) -> tuple[int, dict[str, Any]]:
        job = await start_job(user.id)
        return 202, {
            "job_id": job.id,
            "user_id": job.user_id,
            "platform_id": job.platform_id,
            "status": job.status.value,
        }

    async def notified(_user: User, _session: Session, body: Any) -> tuple[int, dict[str, Any]]:
        return 202, await notify_user(body)

    router = app.router
    router.add_get("/", page("index.html"))
    router.add_get("/admin/", page("admin/index.html"))
    router.add_get("/admin", admin_redirect)
    router.add_get("/login", page("login.html"))
    router.add_get("/favicon.ico", no_icon)
    router.add_get("/vendor/{name:socket\\.io\\.esm\\.min\\.js(?:\\.map)?}", vendor)
    router.add_static("/static/", static_dir, append_version=False)
    router.add_get("/pages/config", pages.config)
    router.add_get("/session", pages.current)
    router.add_post("/logout", pages.logout)
    router.add_post("/session/caption-jobs", pages.guarded(started, USER_NAMESPACE))
    router.add_post("/session/admin/notifications", pages.guarded(notified, ADMIN_NAMESPACE))
    for method, path, action in session_routes:  # more cookie-authenticated calls (the review queue)
        router.add_route(method, path, pages.guarded_params(action, USER_NAMESPACE))
    if demo_mode:
        router.add_post("/demo/login", pages.demo_login)
    app.on_response_prepare.append(_static_headers)


async def _static_headers(request: web.Request, response: web.StreamResponse) -> None:
    if request.path.startswith("/static/"):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Cache-Control", "no-cache")


class _Pages:
    allowed_origins: frozenset[str] | str = frozenset()
    address: ClientAddress = ClientAddress()

    """The handlers that read the session cookie; errors in the HTTP API's `{"event", "data"}` format."""

    def __init__(
        self,
        demo_mode: bool,
        cookie_name: str,
        login_url: str,
        session_ttl: float,
        issue_session: Callable[[str, float], Awaitable[Session]],
        revoke_session: Callable[[str], Awaitable[bool]],
        whoami: WhoAmIFn,
        clock: Clock,
        tokens: TokenSource,
    ) -> None:
        self._demo_mode = demo_mode
        self._cookie_name = cookie_name
        self._login_url = login_url
        self._ttl = session_ttl
        self._issue = issue_session
        self._revoke = revoke_session
        self._whoami = whoami
        self._clock = clock
        self._tokens = tokens

    async def config(self, _request: web.Request) -> web.Response:
        return json_response(200, {"demo_mode": self._demo_mode, "login_url": self._login_url})

    async def current(self, request: web.Request) -> web.Response:
        try:
            user, session = await self._whoami(request.cookies.get(self._cookie_name), USER_NAMESPACE)
        except DomainError as err:
            return self._error(err, request)
        response = json_response(
            200,
            {
                "user_id": user.id,
                "username": user.username,
                "role": user.role.value,
                "csrf_token": session.csrf_token,
                "expires_at": messages.iso_utc(session.expires_at),
            },
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    def guarded(
        self,
        action: Callable[[User, Session, Any], Awaitable[tuple[int, dict[str, Any]]]],
        namespace: str,
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        """Cookie session (admin role for "/admin") plus the session's CSRF token in the X-CSRF-Token header."""

        async def run(request: web.Request) -> tuple[int, dict[str, Any]]:
            user, session = await self._whoami(request.cookies.get(self._cookie_name), namespace)
            _check_csrf(request, session)
            return await action(user, session, await read_json(request))

        async def handler(request: web.Request) -> web.Response:
            return await respond(request, run, self._error)

        return handler

    def guarded_params(self, action: SessionAction, namespace: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        """Like `guarded`, passing the path and query parameters too; GET needs the CSRF header as well."""

        async def run(request: web.Request) -> tuple[int, dict[str, Any]]:
            user, session = await self._whoami(request.cookies.get(self._cookie_name), namespace)
            _check_csrf(request, session)
            body = None if request.method == "GET" else await read_json(request)
            return await action(user, {**request.query, **request.match_info}, body)

        async def handler(request: web.Request) -> web.Response:
            response = await respond(request, run, self._error)
            response.headers["Cache-Control"] = "no-store"
            return response

        return handler

    async def demo_login(self, request: web.Request) -> web.StreamResponse:
        try:
            _check_allowed_origin(request, self.allowed_origins)
            if request.content_type == "application/json":
                body = await read_json(request)
            else:
                body = dict(await request.post())
            username = body.get("username") if isinstance(body, dict) else None
            if username not in DEMO_USERS:
                raise DomainError(ErrorCode.INVALID_MESSAGE, "username must be 'demo' or 'admin'", field="username")
            session = await self._issue(username, self._ttl)
        except DomainError as err:
            return self._error(err, request)
        response = web.Response(status=303, headers={"Location": DEMO_USERS[username], "Cache-Control": "no-store"})
        response.set_cookie(
            self._cookie_name,
            session.id,
            max_age=int(self._ttl),
            path="/",
            httponly=True,
            samesite="Lax",
            secure=self.address.over_tls(request.secure, request.remote, request.headers.get("X-Forwarded-Proto")),
        )
        return response

    async def logout(self, request: web.Request) -> web.Response:
        """Revokes a live session (CSRF header required) and always clears the cookie."""
        revoked = False
        session_id = request.cookies.get(self._cookie_name)
        try:
            try:
                _user, session = await self._whoami(session_id, USER_NAMESPACE)
            except DomainError:
                session = None  # nothing live to revoke: clearing the cookie is all there is to do
            if session is not None:
                _check_csrf(request, session)
                revoked = await self._revoke(session.id)
        except DomainError as err:
            return self._error(err, request)
        response = json_response(200, {"revoked": revoked, "redirect_url": self._login_url})
        response.del_cookie(self._cookie_name, path="/")
        return response

    def _error(self, err: DomainError, request: web.Request) -> web.Response:
        if err.code is ErrorCode.AUTH_REQUIRED:
            payload, event = messages.auth_required(self._login_url), events.AUTH_REQUIRED
        elif err.code in (ErrorCode.AUTH_INVALID_SESSION, ErrorCode.AUTH_INSUFFICIENT_PRIVILEGES):
            payload, event = messages.auth_error(err, self._login_url), events.AUTH_ERROR
        else:
            payload, event = messages.error(err, f"{request.method} {request.path}", None), events.ERROR
        messages.stamp(payload, self._clock.now(), self._tokens.message_id())
        status = _FORBIDDEN.get(err.code) or STATUS_BY_CODE.get(err.code, 400)
        response = json_response(status, {"event": event, "data": payload})
        response.headers["Cache-Control"] = "no-store"
        return response


def _check_csrf(request: web.Request, session: Session) -> None:
    presented = request.headers.get(CSRF_HEADER, "")
    if not presented or not hmac.compare_digest(presented.encode(), session.csrf_token.encode()):
        raise DomainError(ErrorCode.CSRF_TOKEN_INVALID, f"The session's CSRF token is required in {CSRF_HEADER}")


def _check_allowed_origin(request: web.Request, allowed: frozenset[str] | str) -> None:
    """Demo sign-in has no CSRF token to check (none exists yet): the request must come from a page of an
    allowed origin (SOCKETIO_CORS_ORIGINS). No Origin, or an Origin merely equal to Host (DNS rebinding
    makes any name point here), is refused."""
    origin = request.headers.get("Origin")
    if origin is None or (allowed != "*" and origin.rstrip("/") not in allowed):
        raise DomainError(ErrorCode.CORS_ORIGIN_NOT_ALLOWED, "Sign-in is accepted only from an allowed origin")
