"""The HTTP API beside the socket: health for orchestrators, and bearer-authenticated calls for host applications."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from adapters.inbound.bodies import read_whole
from application.job_admin import CancelCaptionJob, GetCaptionJob
from application.notifications import NotifyAdmins, NotifyUser, RaiseAdminAlert
from application.platforms import ConnectPlatform
from application.port_errors import PortError
from application.ports import Clock, HealthProbe, TokenSource
from application.review import ReviewCaptions, ReviewQueue
from application.sessions import IssueSession, RevokeSession
from application.start_job import StartCaptionJob
from domain import messages, review_messages
from domain.errors import DomainError, ErrorCode
from domain.health import Health

log = logging.getLogger("vedfolnir.http")

MAX_BODY_BYTES = 64 * 1024

STATUS_BY_CODE = {
    ErrorCode.AUTH_REQUIRED: 401,
    ErrorCode.AUTH_INVALID_SESSION: 401,
    ErrorCode.AUTH_INSUFFICIENT_PRIVILEGES: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.CONFLICT: 409,
    ErrorCode.JOB_ALREADY_ACTIVE: 409,
    ErrorCode.INVALID_JOB_STATE: 409,
    ErrorCode.NO_ACTIVE_JOB: 409,
    ErrorCode.INVALID_REVIEW_STATE: 409,
    ErrorCode.REVIEW_ITEM_CHANGED: 409,
    ErrorCode.CAPTION_GENERATION_FAILED: 502,
    ErrorCode.MESSAGE_TOO_LARGE: 413,
    ErrorCode.RATE_LIMIT_EXCEEDED: 429,
    ErrorCode.DATABASE_ERROR: 503,
    ErrorCode.INTERNAL_ERROR: 500,
}


@dataclass(frozen=True, slots=True)
class HttpUseCases:
    start_job: StartCaptionJob
    notify_user: NotifyUser
    notify_admins: NotifyAdmins
    raise_alert: RaiseAdminAlert
    issue_session: IssueSession
    revoke_session: RevokeSession
    get_job: GetCaptionJob
    cancel_job: CancelCaptionJob
    connect_platform: ConnectPlatform
    review_queue: ReviewQueue | None = None
    review_captions: ReviewCaptions | None = None


class HttpApi:
    def __init__(
        self,
        use_cases: HttpUseCases,
        readiness: list[HealthProbe],
        api_token: str | None,
        clock: Clock,
        tokens: TokenSource,
        cookie_name: str,
        allowed_origins: list[str] | str | None = None,
    ) -> None:
        self._allowed_origins = None if allowed_origins == "*" else frozenset(allowed_origins or ())
        self._uc = use_cases
        self._readiness = readiness
        self._api_token = api_token.encode() if api_token else None
        self._clock = clock
        self._tokens = tokens
        self._cookie_name = cookie_name

    def register(self, app: web.Application) -> None:
        app.router.add_route("OPTIONS", "/api/v1/{tail:.*}", self.preflight)
        app.on_response_prepare.append(self._cors_headers)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/readyz", self.readyz)
        guarded: list[tuple[str, str, Callable[[Any], Awaitable[tuple[int, dict[str, Any]]]]]] = [
            ("POST", "/api/v1/caption-jobs", self._start_job),
            ("POST", "/api/v1/notifications", self._notify_user),
            ("POST", "/api/v1/admin/notifications", self._notify_admins),
            ("POST", "/api/v1/admin/alerts", self._raise_alert),
            ("POST", "/api/v1/sessions", self._issue_session),
        ]
        for method, path, action in guarded:
            app.router.add_route(method, path, self._guard(action))
        app.router.add_delete("/api/v1/sessions/{session_id}", self._guard(self._revoke_session, body=False))
        app.router.add_get("/api/v1/caption-jobs/{job_id}", self._guard(self._get_job, body=False))
        app.router.add_post("/api/v1/caption-jobs/{job_id}/cancel", self._guard(self._cancel_job, body=False))
        app.router.add_post("/api/v1/platforms", self._guard(self._connect_platform))
        self._register_reviews(app)

    def _register_reviews(self, app: web.Application) -> None:
        """The review queue (issue 15): the acting user's `user_id` comes in the query (GET) or the body."""
        reviews: list[tuple[str, str, Callable[[dict[str, str], Any], Awaitable[tuple[int, dict[str, Any]]]]]] = [
            ("GET", "/api/v1/reviews", self._list_reviews),
            ("GET", "/api/v1/reviews/{item_id}", self._get_review),
            ("POST", "/api/v1/reviews/bulk", self._bulk_review),
            ("POST", "/api/v1/reviews/{item_id}/{action:edit|approve|reject|regenerate}", self._review_action),
            ("PUT", "/api/v1/platforms/{platform_id:[0-9]{1,18}}/review-settings", self._review_settings),
        ]
        for method, path, action in reviews:
            app.router.add_route(method, path, self._guard_params(action))

    def _origin_allowed(self, origin: str | None) -> bool:
        return origin is not None and (self._allowed_origins is None or origin in self._allowed_origins)

    async def preflight(self, request: web.Request) -> web.Response:
        """CORS preflight for browsers calling the host API from an allowed origin."""
        origin = request.headers.get("Origin")
        if not self._origin_allowed(origin):
            err = DomainError(ErrorCode.CORS_PREFLIGHT_FAILED, "Origin not in allowed CORS origins")
            return self._error(err, request, status=403)
        return web.Response(
            status=204,
            headers={
                "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
                "Access-Control-Allow-Headers": "Authorization, Content-Type",
                "Access-Control-Max-Age": "600",
            },
        )

    async def _cors_headers(self, request: web.Request, response: web.StreamResponse) -> None:
        if request.path.startswith("/api/") and self._origin_allowed(origin := request.headers.get("Origin")):
            response.headers["Access-Control-Allow-Origin"] = str(origin)
            response.headers["Vary"] = "Origin"

    async def healthz(self, _request: web.Request) -> web.Response:
        return json_response(200, {"status": "ok", "timestamp": messages.iso_utc(self._clock.now())})

    async def readyz(self, _request: web.Request) -> web.Response:
        reports = [await probe.check() for probe in self._readiness]
        ready = all(r.status is not Health.UNHEALTHY for r in reports)
        body = {
            "status": "ready" if ready else "not_ready",
            "components": {r.component: {"status": r.status.value, "detail": r.detail} for r in reports},
            "timestamp": messages.iso_utc(self._clock.now()),
        }
        return json_response(200 if ready else 503, body)

    def _guard(
        self, action: Callable[[Any], Awaitable[tuple[int, dict[str, Any]]]], body: bool = True
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def run(request: web.Request) -> tuple[int, dict[str, Any]]:
            self._authenticate(request)
            argument: Any = await read_json(request) if body else next(iter(request.match_info.values()))
            return await action(argument)

        async def handler(request: web.Request) -> web.Response:
            return await respond(request, run, self._error)

        return handler

    def _guard_params(
        self, action: Callable[[dict[str, str], Any], Awaitable[tuple[int, dict[str, Any]]]]
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        """Like `_guard`, passing the path and query parameters and the body (none for GET)."""

        async def run(request: web.Request) -> tuple[int, dict[str, Any]]:
            self._authenticate(request)
            body = None if request.method == "GET" else await read_json(request)
            return await action({**request.query, **request.match_info}, body)

        async def handler(request: web.Request) -> web.Response:
            return await respond(request, run, self._error)

        return handler

    def _authenticate(self, request: web.Request) -> None:
        if self._api_token is None:
            raise DomainError(ErrorCode.AUTH_REQUIRED, "The host API is disabled: set API_TOKEN to enable it")
        header = request.headers.get("Authorization", "")
        scheme, _, presented = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(presented.strip().encode(), self._api_token):
            raise DomainError(ErrorCode.AUTH_REQUIRED, "A valid bearer token is required")

    def _error(self, err: DomainError, request: web.Request, status: int | None = None) -> web.Response:
        payload = messages.error(err, f"{request.method} {request.path}", None)
        messages.stamp(payload, self._clock.now(), self._tokens.message_id())
        return json_response(status or STATUS_BY_CODE.get(err.code, 400), {"event": "error", "data": payload})

    async def _start_job(self, body: Any) -> tuple[int, dict[str, Any]]:
        job = await self._uc.start_job.from_request(body)
        return 202, {
            "job_id": job.id,
            "user_id": job.user_id,
            "platform_id": job.platform_id,
            "status": job.status.value,
        }

    async def _notify_user(self, body: Any) -> tuple[int, dict[str, Any]]:
        return 202, await self._uc.notify_user(body)

    async def _notify_admins(self, body: Any) -> tuple[int, dict[str, Any]]:
        return 202, await self._uc.notify_admins(body)

    async def _raise_alert(self, body: Any) -> tuple[int, dict[str, Any]]:
        return 202, await self._uc.raise_alert(body)

    async def _issue_session(self, body: Any) -> tuple[int, dict[str, Any]]:
        session = await self._uc.issue_session.from_request(body)
        return 201, session_json(session, self._cookie_name)

    async def _get_job(self, job_id: str) -> tuple[int, dict[str, Any]]:
        return 200, await self._uc.get_job(job_id)

    async def _cancel_job(self, job_id: str) -> tuple[int, dict[str, Any]]:
        return 200, await self._uc.cancel_job(job_id)

    async def _connect_platform(self, body: Any) -> tuple[int, dict[str, Any]]:
        platform = await self._uc.connect_platform.from_request(body)
        return 201, {
            "platform_id": platform.id,
            "user_id": platform.user_id,
            "name": platform.name,
            "platform_type": platform.platform_type.value,
            "instance_url": platform.instance_url,
            "status": platform.status.value,
        }

    def _reviews(self) -> tuple[ReviewQueue, ReviewCaptions]:
        if self._uc.review_queue is None or self._uc.review_captions is None:
            raise DomainError(ErrorCode.NOT_FOUND, "The review queue is not part of this service")
        return self._uc.review_queue, self._uc.review_captions

    async def _list_reviews(self, params: dict[str, str], _body: Any) -> tuple[int, dict[str, Any]]:
        queue, _ = self._reviews()
        found = await queue.from_request(params)
        return 200, {"items": [review_messages.review_item(item) for item in found]}

    async def _get_review(self, params: dict[str, str], _body: Any) -> tuple[int, dict[str, Any]]:
        queue, _ = self._reviews()
        actor = _int_param(params, "user_id")
        return 200, review_messages.review_item(await queue.get(actor, params["item_id"]))

    async def _review_action(self, params: dict[str, str], body: Any) -> tuple[int, dict[str, Any]]:
        _, captions = self._reviews()
        item = await captions.act(params["action"], params["item_id"], body)
        return 200, review_messages.review_item(item)

    async def _bulk_review(self, _params: dict[str, str], body: Any) -> tuple[int, dict[str, Any]]:
        _, captions = self._reviews()
        return 202, await captions.bulk_from_request(body)

    async def _review_settings(self, params: dict[str, str], body: Any) -> tuple[int, dict[str, Any]]:
        _, captions = self._reviews()
        return 200, await captions.set_auto_approve_from_request(int(params["platform_id"]), body)

    async def _revoke_session(self, session_id: str) -> tuple[int, dict[str, Any]]:
        found = await self._uc.revoke_session(session_id)
        if not found:
            raise DomainError(ErrorCode.NOT_FOUND, "No such session")
        return 200, {"revoked": True}


def session_json(session: Any, cookie_name: str) -> dict[str, Any]:
    return {
        "cookie_name": cookie_name,
        "session_id": session.id,
        "csrf_token": session.csrf_token,
        "user_id": session.user_id,
        "expires_at": messages.iso_utc(session.expires_at),
    }


def _int_param(params: dict[str, str], name: str) -> int:
    value = params.get(name, "")
    if not value.isdigit() or len(value) > 16:
        raise DomainError(
            ErrorCode.INVALID_MESSAGE, f"Query parameter '{name}' must be a positive whole number", field=name
        )
    return int(value)


async def read_json(request: web.Request) -> Any:
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise DomainError(ErrorCode.MESSAGE_TOO_LARGE, f"Bodies are limited to {MAX_BODY_BYTES} bytes")
    raw = await read_whole(request.content, MAX_BODY_BYTES)
    if raw is None:
        raise DomainError(ErrorCode.MESSAGE_TOO_LARGE, f"Bodies are limited to {MAX_BODY_BYTES} bytes")
    try:
        return orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError:
        raise DomainError(ErrorCode.INVALID_MESSAGE, "The body must be a JSON object") from None


async def respond(
    request: web.Request,
    run: Callable[[web.Request], Awaitable[tuple[int, dict[str, Any]]]],
    error: Callable[[DomainError, web.Request], web.Response],
) -> web.Response:
    """Runs a request's use case; a refusal or an unexpected failure becomes the standard error answer."""
    try:
        status, payload = await run(request)
    except DomainError as err:
        return error(err, request)
    except PortError as exc:  # the port's taxonomy, mapped once here for every HTTP call
        return error(exc.refusal(), request)
    except Exception:
        log.exception("HTTP %s %s failed", request.method, request.path)
        return error(DomainError(ErrorCode.INTERNAL_ERROR, "The server could not handle this request"), request)
    return json_response(status, payload)


def json_response(status: int, body: dict[str, Any]) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json")
