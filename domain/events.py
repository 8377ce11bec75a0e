"""Names of every event of the API reference and the schemas of what clients and hosts may send."""

from __future__ import annotations

import re
from typing import Final

from domain.identity import USERNAME
from domain.validation import Field

# Server -> client
AUTH_REQUIRED: Final = "auth_required"
AUTH_ERROR: Final = "auth_error"
CAPTION_GENERATION_STARTED: Final = "caption_generation_started"
CAPTION_PROGRESS: Final = "caption_progress"
CAPTION_GENERATED: Final = "caption_generated"
CAPTION_GENERATION_COMPLETED: Final = "caption_generation_completed"
CAPTION_GENERATION_ERROR: Final = "caption_generation_error"
CAPTION_GENERATION_PAUSED: Final = "caption_generation_paused"
CAPTION_GENERATION_RESUMED: Final = "caption_generation_resumed"
PLATFORM_CONNECTION_STATUS: Final = "platform_connection_status"
PLATFORM_SYNC_PROGRESS: Final = "platform_sync_progress"
USER_NOTIFICATION: Final = "user_notification"
SYSTEM_STATUS_UPDATE: Final = "system_status_update"
ADMIN_ALERT: Final = "admin_alert"
USER_ACTIVITY_UPDATE: Final = "user_activity_update"
ADMIN_NOTIFICATION: Final = "admin_notification"
ROOM_JOINED: Final = "room_joined"
ROOM_LEFT: Final = "room_left"
CAPTION_STATUS_RESPONSE: Final = "caption_status_response"
ERROR: Final = "error"
RATE_LIMIT_EXCEEDED: Final = "rate_limit_exceeded"

# Client -> server
JOIN_ROOM: Final = "join_room"
LEAVE_ROOM: Final = "leave_room"
REQUEST_CAPTION_STATUS: Final = "request_caption_status"
PAUSE_CAPTION_GENERATION: Final = "pause_caption_generation"
RESUME_CAPTION_GENERATION: Final = "resume_caption_generation"

_ROOM = re.compile(r"[A-Za-z0-9_:.\-]{1,100}")
_USER_ID = Field("int", minimum=1, maximum=2**53)

CLIENT_EVENT_SCHEMAS: Final[dict[str, dict[str, Field]]] = {
    JOIN_ROOM: {
        "room_name": Field("str", required=True, max_length=100, escape=False),
        "room_type": Field("str", max_length=50),
    },
    LEAVE_ROOM: {"room_name": Field("str", required=True, max_length=100, escape=False)},
    REQUEST_CAPTION_STATUS: {"user_id": _USER_ID},
    PAUSE_CAPTION_GENERATION: {"user_id": _USER_ID, "reason": Field("str", max_length=200)},
    RESUME_CAPTION_GENERATION: {"user_id": _USER_ID},
}

NOTIFICATION_TYPES = frozenset({"info", "success", "warning", "error"})
ALERT_SEVERITIES = frozenset({"info", "warning", "error", "critical"})
COMPONENTS = frozenset({"websocket_server", "database", "redis", "ollama", "platform_apis"})
PRIORITIES = frozenset({"low", "normal", "high", "critical"})

USER_NOTIFICATION_SCHEMA: Final = {
    "user_id": Field("int", required=True, minimum=1, maximum=2**53),
    "type": Field("str", choices=NOTIFICATION_TYPES),
    "title": Field("str", required=True),
    "message": Field("str", required=True),
    "action_url": Field("str", max_length=1000, url=True),
    "action_text": Field("str", max_length=100),
    "auto_dismiss": Field("bool"),
    "dismiss_timeout": Field("int", minimum=0, maximum=600_000),
}

ADMIN_NOTIFICATION_SCHEMA: Final = {
    "type": Field("str", max_length=100, pattern=re.compile(r"[a-z0-9_]{1,100}")),
    "priority": Field("str", choices=PRIORITIES),
    "title": Field("str", required=True),
    "message": Field("str", required=True),
    "action_required": Field("bool"),
}

ADMIN_ALERT_SCHEMA: Final = {
    "severity": Field("str", required=True, choices=ALERT_SEVERITIES),
    "component": Field("str", required=True, choices=COMPONENTS),
    "title": Field("str", required=True),
    "message": Field("str", required=True),
    "recommended_action": Field("str"),
}

START_JOB_SCHEMA: Final = {
    "user_id": Field("int", required=True, minimum=1, maximum=2**53),
    "platform_id": Field("int", minimum=1, maximum=2**53),
    "max_posts": Field("int", minimum=1, maximum=10_000),
    "reprocess_existing": Field("bool"),
}

ISSUE_SESSION_SCHEMA: Final = {
    "username": Field("str", required=True, max_length=100, escape=False, pattern=USERNAME),
    "ttl_seconds": Field("number", minimum=1, maximum=366 * 86400),
}

CONNECT_PLATFORM_SCHEMA: Final = {
    "user_id": Field("int", required=True, minimum=1, maximum=2**53),
    "name": Field("str", required=True, max_length=200),
    "platform_type": Field("str", required=True, choices=frozenset({"pixelfed", "mastodon"})),
    "instance_url": Field(
        "str", required=True, max_length=500, escape=False, pattern=re.compile(r"https?://[^\s/$.?#][^\s]*")
    ),
    "access_token": Field("str", required=True, max_length=1000, escape=False),
}

# Review and publishing (issue 15; not in the API reference, documented in docs/events.md)
REVIEW_ITEM_UPDATED: Final = "review_item_updated"
CAPTION_PUBLISHED: Final = "caption_published"
CAPTION_PUBLISH_FAILED: Final = "caption_publish_failed"
CAPTION_PUBLISH_PROGRESS: Final = "caption_publish_progress"

_REVIEW_ID = re.compile(r"[A-Za-z0-9_\-]{1,64}")
REVIEW_STATUSES = frozenset({"pending", "approved", "publishing", "published", "failed", "conflict", "rejected"})

# The acting user's id is required of hosts: the review rules of their role apply to what they do.
REVIEW_ACTION_SCHEMA: Final = {
    "user_id": Field("int", required=True, minimum=1, maximum=2**53),
    "caption": Field("str", max_length=5000, escape=False),
}
REVIEW_LIST_SCHEMA: Final = {
    "user_id": Field("int", required=True, minimum=1, maximum=2**53),
    "owner_id": Field("int", minimum=1, maximum=2**53),
    "status": Field("str", choices=REVIEW_STATUSES),
    "limit": Field("int", minimum=1, maximum=500),
}
BULK_REVIEW_SCHEMA: Final = {
    "user_id": Field("int", required=True, minimum=1, maximum=2**53),
    "action": Field("str", required=True, choices=frozenset({"approve", "reject"})),
    "item_ids": Field("ids", required=True, max_length=500, pattern=_REVIEW_ID),
}
REVIEW_SETTINGS_SCHEMA: Final = {
    "user_id": Field("int", required=True, minimum=1, maximum=2**53),
    "auto_approve": Field("bool", required=True),
}
