"""The human log line (LOG_FORMAT=text) carries the same context as a JSON record: node, sid, user, event, correlation id."""

from __future__ import annotations

import logging

from adapters.inbound.log_safety import EscapingFormatter
from adapters.inbound.logging_setup import CONTEXT_KEYS, HUMAN_FORMAT, ContextFilter
from adapters.observability import log_context


def test_a_human_line_names_every_context_key_with_its_value() -> None:
    record = logging.LogRecord("vedfolnir.test", logging.INFO, __file__, 1, "handled", None, None)
    token = log_context.socket_event.set(("sid-1", "join_room", ({"correlation_id": "corr-7"},)))
    try:
        ContextFilter("node-a", user_of=lambda sid: 42 if sid == "sid-1" else None).filter(record)
    finally:
        log_context.socket_event.reset(token)
    line = EscapingFormatter(HUMAN_FORMAT).format(record)
    assert "[node-a sid=sid-1 user=42 event=join_room corr=corr-7] handled" in line
    for key in CONTEXT_KEYS:
        assert f"%({key})s" in HUMAN_FORMAT
