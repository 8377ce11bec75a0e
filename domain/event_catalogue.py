"""Every event of both namespaces: who sends it, where, and the shape of its payload (the AsyncAPI document's source)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from domain import events
from domain.access import ADMIN_NAMESPACE, USER_NAMESPACE
from domain.errors import ErrorCode
from domain.validation import Field


@dataclass(frozen=True, slots=True)
class Prop:
    """One payload field: kind is string, integer, number, boolean, object or array."""

    kind: str
    nullable: bool = False
    enum: frozenset[str] | None = None
    fields: Mapping[str, Prop] | None = None  # an object's own fields (then no others)
    optional: bool = False
    description: str = ""


def _s(description: str = "", *, nullable: bool = False, enum: frozenset[str] | None = None) -> Prop:
    return Prop("string", nullable=nullable, enum=enum, description=description)


def _i(description: str = "", *, nullable: bool = False) -> Prop:
    return Prop("integer", nullable=nullable, description=description)


def _n(description: str = "", *, nullable: bool = False) -> Prop:
    return Prop("number", nullable=nullable, description=description)


_B = Prop("boolean")
_OBJ = Prop("object")
_USER = _i("the user the event is about")
_JOB = _s("caption job id")
ERROR_CODES: Final = frozenset(c.value for c in ErrorCode)

# Stamped on every payload the server sends (application.outbox).
STAMP: Final[Mapping[str, Prop]] = {
    "timestamp": _s("ISO 8601 UTC with milliseconds and Z"),
    "message_id": Prop("string", optional=True, description="unique id of this message"),
    "correlation_id": Prop(
        "string",
        optional=True,
        description="on replies: the client event's own correlation_id, else its message_id",
    ),
}

CURRENT_PROGRESS: Final = Prop(
    "object",
    fields={
        "current_post": _i("as in caption_progress: the post being processed (1-based), else the last one done"),
        "total_posts": _i(),
        "progress_percentage": _i("current_post / total_posts (post 5 of 25: 20)"),
    },
    description="always an object; zeros for a user who never had a job",
)
CAPTION_STATUS: Final[Mapping[str, Prop]] = {
    "user_id": _USER,
    "is_active": _B,
    "job_id": _s(nullable=True),
    "status": _s(nullable=True),
    "current_progress": CURRENT_PROGRESS,
}
ERROR_ENVELOPE: Final[Mapping[str, Prop]] = {
    "error_code": _s(enum=ERROR_CODES),
    "error_message": _s(),
    "error_details": Prop("object", description="original_event, user_id and the code's own details"),
    "retry_possible": _B,
}
# auth_required / auth_error: the reference's fields in the standard error envelope; `event` repeats
# the event's name when it answers a connect.
AUTH_ANSWER: Final[Mapping[str, Prop]] = {
    "message": _s(),
    **ERROR_ENVELOPE,
    "redirect_url": _s("where the browser signs in"),
    "event": Prop("string", optional=True, enum=frozenset({events.AUTH_REQUIRED, events.AUTH_ERROR})),
}


# A review item in events (domain.review_messages.review_item, strings HTML-escaped).
REVIEW_STATES: Final = frozenset(events.REVIEW_STATUSES)
REVIEW_CHANGES: Final = frozenset(
    {"added", "edited", "approved", "rejected", "regenerated", "publishing", "published", "failed", "conflict"}
)
REVIEW_ITEM: Final[Mapping[str, Prop]] = {
    "item_id": _s(),
    "user_id": _USER,
    "platform_id": _i(),
    "platform_type": _s(enum=frozenset({"pixelfed", "mastodon"})),
    "job_id": _JOB,
    "post_id": _s(),
    "post_url": _s(),
    "image_url": _s(),
    "original_description": _s("the description the image had when captioned", nullable=True),
    "generated_caption": _s(),
    "caption": _s("the text to publish"),
    "edited": _B,
    "max_length": _i("the platform's alt-text limit"),
    "status": _s(enum=REVIEW_STATES),
    "version": _i(),
    "reviewed_by": _i(nullable=True),
    "batch_id": _s(nullable=True),
    "attempts": _i(),
    "error_type": _s(nullable=True),
    "error_message": _s(nullable=True),
    "retry_possible": Prop("boolean", nullable=True),
    "created_at": _s("ISO 8601 UTC"),
    "updated_at": _s("ISO 8601 UTC"),
    "published_at": _s("ISO 8601 UTC", nullable=True),
}


@dataclass(frozen=True, slots=True)
class EventSpec:
    name: str
    sender: str  # "server" or "client"
    namespaces: tuple[str, ...]
    summary: str
    payload: Mapping[str, Prop] = field(default_factory=dict)
    request: Mapping[str, Field] | None = None  # a client event's field rules (domain.validation)
    replies: tuple[str, ...] = ()  # events (and ack payload) a client event is answered with
    open_payload: bool = False  # fields beyond `payload` may appear (an error's own details)


BOTH = (USER_NAMESPACE, ADMIN_NAMESPACE)
USER = (USER_NAMESPACE,)
ADMIN = (ADMIN_NAMESPACE,)

SERVER_EVENTS: Final[tuple[EventSpec, ...]] = (
    EventSpec(
        events.AUTH_REQUIRED,
        "server",
        BOTH,
        "A connect without a session (REFUSAL_MODE=event: accepted, told, then disconnected)",
        AUTH_ANSWER,
    ),
    EventSpec(
        events.AUTH_ERROR,
        "server",
        BOTH,
        "The session died (revoked, expired, user inactive); the socket is disconnected next",
        AUTH_ANSWER,
    ),
    EventSpec(
        events.ERROR,
        "server",
        BOTH,
        "A client event or a connect was refused; nothing changed. A refused connect adds `message`, "
        "`event` and the refusal's details (limit, remaining, reset_time, ...) at the top level",
        {
            **ERROR_ENVELOPE,
            "message": Prop("string", optional=True),
            "event": Prop("string", optional=True, enum=frozenset({events.ERROR})),
        },
        open_payload=True,
    ),
    EventSpec(
        events.RATE_LIMIT_EXCEEDED,
        "server",
        BOTH,
        "A client event over the per-user event rate; not processed",
        {
            "error_code": _s(enum=frozenset({ErrorCode.RATE_LIMIT_EXCEEDED.value})),
            "error_message": _s(),
            "error_details": ERROR_ENVELOPE["error_details"],
            "limit": _i(),
            "remaining": _i(),
            "reset_time": _s("ISO 8601 UTC"),
            "original_event": _s(nullable=True),
            "retry_possible": _B,
        },
    ),
    EventSpec(
        events.CAPTION_GENERATION_STARTED,
        "server",
        USER,
        "A caption job started running",
        {"user_id": _USER, "job_id": _JOB, "total_posts": _i(nullable=True), "estimated_duration": _i("seconds")},
    ),
    EventSpec(
        events.CAPTION_PROGRESS,
        "server",
        USER,
        "A post of the job is being captioned, or was",
        {
            "user_id": _USER,
            "job_id": _JOB,
            "current_post": _i("1-based"),
            "total_posts": _i(nullable=True),
            "progress_percentage": _i(),
            "current_post_id": _s(nullable=True),
            "current_post_url": _s(nullable=True),
            "status": _s(enum=frozenset({"processing", "captioned", "failed"})),
            "estimated_time_remaining": _i("seconds"),
        },
    ),
    EventSpec(
        events.CAPTION_GENERATED,
        "server",
        USER,
        "A caption was generated for a post (HTML-escaped)",
        {
            "user_id": _USER,
            "job_id": _JOB,
            "post_id": _s(),
            "post_url": _s(nullable=True),
            "caption": _s(),
            "confidence_score": _n(nullable=True),
            "processing_time": _n("seconds"),
        },
    ),
    EventSpec(
        events.CAPTION_GENERATION_COMPLETED,
        "server",
        USER,
        "The job ended: completed, failed or cancelled",
        {
            "user_id": _USER,
            "job_id": _JOB,
            "status": _s(enum=frozenset({"completed", "failed", "cancelled"})),
            "total_posts_processed": _i(),
            "successful_captions": _i(),
            "failed_captions": _i(),
            "total_processing_time": _n("seconds"),
            "average_processing_time": _n("seconds"),
        },
    ),
    EventSpec(
        events.CAPTION_GENERATION_ERROR,
        "server",
        USER,
        "A post (or the whole job, post_id null) failed",
        {
            "user_id": _USER,
            "job_id": _JOB,
            "post_id": _s(nullable=True),
            "error_type": _s(),
            "error_message": _s(),
            "retry_possible": _B,
        },
    ),
    EventSpec(
        events.CAPTION_GENERATION_PAUSED,
        "server",
        USER,
        "The job paused",
        {**CAPTION_STATUS, "reason": _s(nullable=True)},
    ),
    EventSpec(events.CAPTION_GENERATION_RESUMED, "server", USER, "The job resumed", CAPTION_STATUS),
    EventSpec(
        events.PLATFORM_CONNECTION_STATUS,
        "server",
        USER,
        "A platform connection's status changed",
        {
            "user_id": _USER,
            "platform_id": _i(),
            "platform_name": _s(),
            "platform_type": _s(enum=frozenset({"pixelfed", "mastodon"})),
            "status": _s(enum=frozenset({"connected", "disconnected", "error", "syncing"})),
            "last_sync": _s(nullable=True),
        },
    ),
    EventSpec(
        events.PLATFORM_SYNC_PROGRESS,
        "server",
        USER,
        "Progress of listing a platform's posts",
        {
            "user_id": _USER,
            "platform_id": _i(),
            "sync_type": _s(),
            "current_item": _i("the account's statuses examined so far"),
            "total_items": _i("the account's statuses_count (verify_credentials)"),
            "progress_percentage": _i(),
        },
    ),
    EventSpec(
        events.USER_NOTIFICATION,
        "server",
        USER,
        "A notification for the user",
        {
            "user_id": _USER,
            "notification_id": _s(),
            "type": _s(enum=events.NOTIFICATION_TYPES),
            "title": _s(),
            "message": _s(),
            "action_url": _s(nullable=True),
            "action_text": _s(nullable=True),
            "auto_dismiss": _B,
            "dismiss_timeout": _i("milliseconds"),
        },
    ),
    EventSpec(
        events.ROOM_JOINED, "server", BOTH, "Answer to join_room", {"room_name": _s(), "success": _B, "message": _s()}
    ),
    EventSpec(
        events.ROOM_LEFT, "server", BOTH, "Answer to leave_room", {"room_name": _s(), "success": _B, "message": _s()}
    ),
    EventSpec(
        events.CAPTION_STATUS_RESPONSE,
        "server",
        BOTH,
        "Answer to request_caption_status, pause_caption_generation and resume_caption_generation",
        {**CAPTION_STATUS, "reason": Prop("string", nullable=True, optional=True, description="after a pause")},
    ),
    EventSpec(
        events.REVIEW_ITEM_UPDATED,
        "server",
        USER,
        "A review item was added or changed",
        {
            "user_id": _USER,
            "change": _s(enum=REVIEW_CHANGES),
            "item": Prop("object", fields=REVIEW_ITEM, description="the review item, as the HTTP API shows it"),
        },
    ),
    EventSpec(
        events.CAPTION_PUBLISHED,
        "server",
        USER,
        "An approved caption was written to its post",
        {
            "user_id": _USER,
            "item_id": _s(),
            "platform_id": _i(),
            "post_id": _s(),
            "post_url": _s(),
            "caption": _s(),
            "batch_id": _s(nullable=True),
            "already_published": _B,
        },
    ),
    EventSpec(
        events.CAPTION_PUBLISH_FAILED,
        "server",
        USER,
        "Writing an approved caption to its post failed",
        {
            "user_id": _USER,
            "item_id": _s(),
            "platform_id": _i(),
            "post_id": _s(),
            "post_url": _s(),
            "batch_id": _s(nullable=True),
            "status": _s(enum=frozenset({"failed", "conflict"})),
            "error_type": _s(nullable=True),
            "error_message": _s(),
            "retry_possible": _B,
        },
    ),
    EventSpec(
        events.CAPTION_PUBLISH_PROGRESS,
        "server",
        USER,
        "Progress of a bulk publish",
        {
            "user_id": _USER,
            "batch_id": _s(),
            "total": _i(),
            "published": _i(),
            "failed": _i(),
            "remaining": _i(),
            "progress_percentage": _i(),
        },
    ),
    EventSpec(
        events.SYSTEM_STATUS_UPDATE,
        "server",
        ADMIN,
        "One component's health and metrics, every SYSTEM_STATUS_INTERVAL",
        {
            "component": _s(enum=events.COMPONENTS),
            "status": _s(enum=frozenset({"healthy", "degraded", "unhealthy"})),
            "metrics": _OBJ,
        },
    ),
    EventSpec(
        events.ADMIN_ALERT,
        "server",
        ADMIN,
        "A component turned unhealthy or recovered, or a host raised an alert",
        {
            "alert_id": _s(),
            "severity": _s(enum=events.ALERT_SEVERITIES),
            "component": _s(enum=events.COMPONENTS),
            "title": _s(),
            "message": _s(),
            "recommended_action": _s(nullable=True),
        },
    ),
    EventSpec(
        events.USER_ACTIVITY_UPDATE,
        "server",
        ADMIN,
        "A user connected, disconnected, or a job or publish of theirs moved",
        {"user_id": _USER, "username": _s(), "activity_type": _s(), "details": _OBJ},
    ),
    EventSpec(
        events.ADMIN_NOTIFICATION,
        "server",
        ADMIN,
        "A notification for every admin",
        {
            "notification_id": _s(),
            "type": _s(),
            "priority": _s(enum=events.PRIORITIES),
            "title": _s(),
            "message": _s(),
            "action_required": _B,
        },
    ),
)

_ANSWERED = (events.ERROR, events.RATE_LIMIT_EXCEEDED)
CLIENT_EVENTS: Final[tuple[EventSpec, ...]] = (
    EventSpec(
        events.JOIN_ROOM,
        "client",
        BOTH,
        "Join one of your rooms",
        request=events.CLIENT_EVENT_SCHEMAS[events.JOIN_ROOM],
        replies=(events.ROOM_JOINED, *_ANSWERED),
    ),
    EventSpec(
        events.LEAVE_ROOM,
        "client",
        BOTH,
        "Leave a room",
        request=events.CLIENT_EVENT_SCHEMAS[events.LEAVE_ROOM],
        replies=(events.ROOM_LEFT, *_ANSWERED),
    ),
    EventSpec(
        events.REQUEST_CAPTION_STATUS,
        "client",
        BOTH,
        "Ask for your current job's status",
        request=events.CLIENT_EVENT_SCHEMAS[events.REQUEST_CAPTION_STATUS],
        replies=(events.CAPTION_STATUS_RESPONSE, *_ANSWERED),
    ),
    EventSpec(
        events.PAUSE_CAPTION_GENERATION,
        "client",
        BOTH,
        "Pause your running job",
        request=events.CLIENT_EVENT_SCHEMAS[events.PAUSE_CAPTION_GENERATION],
        replies=(events.CAPTION_STATUS_RESPONSE, *_ANSWERED),
    ),
    EventSpec(
        events.RESUME_CAPTION_GENERATION,
        "client",
        BOTH,
        "Resume your paused job",
        request=events.CLIENT_EVENT_SCHEMAS[events.RESUME_CAPTION_GENERATION],
        replies=(events.CAPTION_STATUS_RESPONSE, *_ANSWERED),
    ),
)

# Refusals of a connect arrive as the stock client's `connect_error` with this as `err.data`, with the
# refusal's own details beside it (limit, remaining, reset_time, ...). A handshake refused before
# Socket.IO (a foreign Origin, HTTP 403) carries the `error` event's fields instead of event/message.
CONNECT_REFUSAL: Final[Mapping[str, Prop]] = {
    "event": Prop("string", optional=True, enum=frozenset({events.AUTH_REQUIRED, events.AUTH_ERROR, events.ERROR})),
    "message": Prop("string", optional=True),
    "error_message": Prop("string", optional=True),
    "error_details": Prop("object", optional=True),
    "error_code": _s(enum=ERROR_CODES),
    "redirect_url": Prop("string", optional=True),
    "retry_possible": Prop("boolean", optional=True),
}
