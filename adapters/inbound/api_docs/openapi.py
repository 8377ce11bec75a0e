"""The OpenAPI 3.1 document of the HTTP API, generated from the served routes and the schemas the use cases validate.

Every route of the running application under /api/ (and the health endpoints) appears; what a route
takes and answers comes from `OPERATIONS`, the one declarative table beside the handlers: a route
added without an entry is still listed, marked undocumented, and the OpenAPI test fails on it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from adapters.inbound.api_docs.json_schema import field_schema, object_schema
from domain import events
from domain.errors import ErrorCode
from domain.validation import Field

ERROR_REF = {"$ref": "#/components/schemas/Error"}
OBJECT: dict[str, Any] = {"type": "object"}
DOCUMENTED_PREFIXES = ("/api/",)
DOCUMENTED_PATHS = ("/healthz", "/readyz")


@dataclass(frozen=True)
class Operation:
    summary: str
    success: int
    success_schema: dict[str, Any] = field(default_factory=lambda: dict(OBJECT))
    body: Mapping[str, Field] | None = None
    query: Mapping[str, Field] | None = None
    path_params: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    errors: Mapping[int, str] = field(default_factory=dict)
    authenticated: bool = True
    # Statuses whose body is not the error format (readyz answers 503 with its own report).
    error_schemas: Mapping[int, dict[str, Any]] = field(default_factory=dict)


def _obj(*required: str, **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": list(required), "properties": properties}


_ID = {"type": "string", "maxLength": 200}
_STR, _INT, _BOOL, _TIME = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}, {"type": "string"}
_NULLABLE_STR = {"type": ["string", "null"]}
BODY_ERRORS = {
    400: "INVALID_MESSAGE: a field is missing, unknown or invalid",
    413: "MESSAGE_TOO_LARGE: body over 64 KiB",
}
AUTH = {401: "AUTH_REQUIRED: no valid bearer token (or API_TOKEN unset)"}
SESSION = _obj(
    "cookie_name",
    "session_id",
    "csrf_token",
    "user_id",
    "expires_at",
    cookie_name=_STR,
    session_id=_STR,
    csrf_token=_STR,
    user_id=_INT,
    expires_at=_TIME,
)
REVIEW_ITEM = _obj(
    "item_id",
    "user_id",
    "status",
    "caption",
    "version",
    item_id=_STR,
    user_id=_INT,
    status=_STR,
    caption=_NULLABLE_STR,
    version=_INT,
)
READY = _obj(
    "status",
    "components",
    "timestamp",
    status={"enum": ["ready", "not_ready"]},
    components=OBJECT,
    timestamp=_TIME,
)
ITEM_ID = {"type": "string", "pattern": "^[A-Za-z0-9_\\-]{1,64}$"}
ACTOR = {"user_id": Field("int", required=True, minimum=1, maximum=2**53)}

# (method, route template as aiohttp names it) -> what it takes and answers.
OPERATIONS: dict[tuple[str, str], Operation] = {
    ("GET", "/healthz"): Operation(
        "Liveness", 200, _obj("status", "timestamp", status=_STR, timestamp=_TIME), authenticated=False
    ),
    ("GET", "/readyz"): Operation(
        "Readiness: database (and Redis) reachable, and the node not draining (component node)",
        200,
        READY,
        error_schemas={503: READY},
        errors={503: "not ready: a component is unhealthy, or the node drains before exiting (same body)"},
        authenticated=False,
    ),
    ("POST", "/api/v1/caption-jobs"): Operation(
        "Start a caption job for a user",
        202,
        _obj("job_id", "user_id", "platform_id", "status", job_id=_STR, user_id=_INT, platform_id=_INT, status=_STR),
        body=events.START_JOB_SCHEMA,
        errors={**BODY_ERRORS, **AUTH, 404: "NOT_FOUND: no such active user or platform", 409: "JOB_ALREADY_ACTIVE"},
    ),
    ("GET", "/api/v1/caption-jobs/{job_id}"): Operation(
        "A job's state and every post's result",
        200,
        _obj(
            "job_id", "user_id", "status", "results", job_id=_STR, user_id=_INT, status=_STR, results={"type": "array"}
        ),
        path_params={"job_id": _ID},
        errors={**AUTH, 404: "NOT_FOUND: no such job"},
    ),
    ("POST", "/api/v1/caption-jobs/{job_id}/cancel"): Operation(
        "Cancel a job",
        200,
        _obj("job_id", "status", job_id=_STR, status=_STR),
        path_params={"job_id": _ID},
        errors={**AUTH, 404: "NOT_FOUND: no such job", 409: "INVALID_JOB_STATE: the job has already ended"},
    ),
    ("POST", "/api/v1/notifications"): Operation(
        "Send a user_notification to one user",
        202,
        _obj(
            "user_id",
            "notification_id",
            "title",
            "message",
            user_id=_INT,
            notification_id=_STR,
            title=_STR,
            message=_STR,
        ),
        body=events.USER_NOTIFICATION_SCHEMA,
        errors={**BODY_ERRORS, **AUTH, 404: "NOT_FOUND: no such active user"},
    ),
    ("POST", "/api/v1/admin/notifications"): Operation(
        "Send an admin_notification to every admin",
        202,
        _obj("notification_id", "title", "message", notification_id=_STR, title=_STR, message=_STR),
        body=events.ADMIN_NOTIFICATION_SCHEMA,
        errors={**BODY_ERRORS, **AUTH},
    ),
    ("POST", "/api/v1/admin/alerts"): Operation(
        "Raise an admin_alert",
        202,
        _obj("alert_id", "severity", "component", alert_id=_STR, severity=_STR, component=_STR),
        body=events.ADMIN_ALERT_SCHEMA,
        errors={**BODY_ERRORS, **AUTH},
    ),
    ("POST", "/api/v1/sessions"): Operation(
        "Issue a session for a user",
        201,
        SESSION,
        body=events.ISSUE_SESSION_SCHEMA,
        errors={**BODY_ERRORS, **AUTH, 404: "NOT_FOUND: no such active user"},
    ),
    ("DELETE", "/api/v1/sessions/{session_id}"): Operation(
        "Revoke a session: its sockets get auth_error and are disconnected",
        200,
        _obj("revoked", revoked=_BOOL),
        path_params={"session_id": _ID},
        errors={**AUTH, 404: "NOT_FOUND: no such session"},
    ),
    ("POST", "/api/v1/platforms"): Operation(
        "Connect a user to a Pixelfed or Mastodon instance (the token is stored encrypted)",
        201,
        _obj(
            "platform_id",
            "user_id",
            "name",
            "platform_type",
            "instance_url",
            "status",
            platform_id=_INT,
            user_id=_INT,
            name=_STR,
            platform_type=_STR,
            instance_url=_STR,
            status={"type": "string", "enum": ["connected", "disconnected", "error", "syncing"]},
        ),
        body=events.CONNECT_PLATFORM_SCHEMA,
        errors={**BODY_ERRORS, **AUTH, 404: "NOT_FOUND: no such user"},
    ),
    ("GET", "/api/v1/reviews"): Operation(
        "Review items the acting user may see",
        200,
        _obj("items", items={"type": "array", "items": REVIEW_ITEM}),
        query=events.REVIEW_LIST_SCHEMA,
        errors={**AUTH, 400: "INVALID_MESSAGE: user_id missing or not a number"},
    ),
    ("GET", "/api/v1/reviews/{item_id}"): Operation(
        "One review item",
        200,
        REVIEW_ITEM,
        query=ACTOR,
        path_params={"item_id": ITEM_ID},
        errors={
            **AUTH,
            400: "INVALID_MESSAGE: user_id missing or not a number",
            404: "NOT_FOUND: no such item for this user",
        },
    ),
    ("POST", "/api/v1/reviews/{item_id}/{action}"): Operation(
        "Edit, approve, reject or regenerate a review item",
        200,
        REVIEW_ITEM,
        body=events.REVIEW_ACTION_SCHEMA,
        path_params={
            "item_id": ITEM_ID,
            "action": {"type": "string", "enum": ["edit", "approve", "reject", "regenerate"]},
        },
        errors={
            **BODY_ERRORS,
            **AUTH,
            403: "AUTH_INSUFFICIENT_PRIVILEGES: the user may not review",
            404: "NOT_FOUND: no such item for this user",
            409: "INVALID_REVIEW_STATE: the action does not apply to the item's status",
        },
    ),
    ("POST", "/api/v1/reviews/bulk"): Operation(
        "Approve or reject many review items",
        202,
        OBJECT,
        body=events.BULK_REVIEW_SCHEMA,
        errors={**BODY_ERRORS, **AUTH},
    ),
    ("PUT", "/api/v1/platforms/{platform_id}/review-settings"): Operation(
        "Turn auto-approve on or off for a platform connection",
        200,
        _obj("platform_id", "auto_approve", platform_id=_INT, auto_approve=_BOOL),
        body=events.REVIEW_SETTINGS_SCHEMA,
        path_params={"platform_id": {"type": "string", "pattern": "^[0-9]{1,18}$"}},
        errors={
            **BODY_ERRORS,
            **AUTH,
            403: "AUTH_INSUFFICIENT_PRIVILEGES: the user may not review",
            404: "NOT_FOUND: no such platform connection",
        },
    ),
}


def documented_routes(app: web.Application) -> list[tuple[str, str]]:
    """(method, template) of every served route the document covers, in the router's order."""
    found: list[tuple[str, str]] = []
    for route in app.router.routes():
        method = route.method
        resource = route.resource
        if method in ("OPTIONS", "HEAD", "*") or resource is None:
            continue
        template = _template(resource.canonical)
        if template.startswith(DOCUMENTED_PREFIXES) or template in DOCUMENTED_PATHS:
            if (method, template) not in found:
                found.append((method, template))
    return found


def _template(canonical: str) -> str:
    """aiohttp's canonical path keeps no regex, but be sure: `{name:regex}` becomes `{name}`."""
    return re.sub(r"\{(\w+)(?::[^{}]*(?:\{[^{}]*\}[^{}]*)*)?\}", r"{\1}", canonical)


def openapi_document(app: web.Application, server_url: str | None = None) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for method, template in documented_routes(app):
        paths.setdefault(template, {})[method.lower()] = _operation(method, template)
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "vedfolnir-realtime HTTP API",
            "version": "1",
            "description": "Health endpoints and the bearer-authenticated host API beside the Socket.IO server "
            "(events: /asyncapi.json). Errors are {event: 'error', data: {...}} in the Socket.IO error format.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "API_TOKEN"}},
            "schemas": {"Error": ERROR_SCHEMA},
        },
    }
    if server_url:
        document["servers"] = [{"url": server_url}]
    return document


ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"const": "error"},
        "data": {
            "type": "object",
            "required": ["error_code", "error_message", "error_details", "retry_possible", "timestamp", "message_id"],
            "properties": {
                "error_code": {"type": "string", "enum": sorted(c.value for c in ErrorCode)},
                "error_message": {"type": "string"},
                "error_details": {"type": "object"},
                "retry_possible": {"type": "boolean"},
                "timestamp": {"type": "string"},
                "message_id": {"type": "string"},
            },
        },
    },
}


def _operation(method: str, template: str) -> dict[str, Any]:
    spec = OPERATIONS.get((method, template))
    if spec is None:
        return {
            "summary": "UNDOCUMENTED: add this route to adapters/inbound/api_docs/openapi.py OPERATIONS",
            "responses": {"default": {"description": "undocumented"}},
        }
    operation: dict[str, Any] = {
        "summary": spec.summary,
        "operationId": _operation_id(method, template),
        "responses": {
            str(spec.success): {
                "description": "success",
                "content": {"application/json": {"schema": spec.success_schema}},
            },
            **{
                str(status): {
                    "description": text,
                    "content": {"application/json": {"schema": spec.error_schemas.get(status, ERROR_REF)}},
                }
                for status, text in sorted(spec.errors.items())
            },
            "default": {
                "description": "INTERNAL_ERROR (500) or DATABASE_ERROR (503): an unexpected failure",
                "content": {"application/json": {"schema": ERROR_REF}},
            },
        },
    }
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": schema} for name, schema in spec.path_params.items()
    ]
    for name, rule in (spec.query or {}).items():
        parameters.append({"name": name, "in": "query", "required": rule.required, "schema": field_schema(rule)})
    if parameters:
        operation["parameters"] = parameters
    if spec.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": object_schema(spec.body)}},
        }
    if spec.authenticated:
        operation["security"] = [{"bearer": []}]
    return operation


def _operation_id(method: str, template: str) -> str:
    words = re.sub(r"[^A-Za-z0-9]+", "_", template.replace("/api/v1/", "")).strip("_")
    return f"{method.lower()}_{words}"
