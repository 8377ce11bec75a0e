"""What a log record is about (socket, event, job, HTTP request), kept in a context variable by the code handling it."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

# (sid, event name, the event's arguments) of the client event being handled; the correlation id is
# derived from the arguments only when a record is written, so the hot path pays one set and one reset.
socket_event: ContextVar[tuple[str, Any, Any] | None] = ContextVar("vedfolnir_socket_event", default=None)
# Free-form fields of the work in progress (job_id, request_id, ...).
work: ContextVar[dict[str, Any] | None] = ContextVar("vedfolnir_work", default=None)
