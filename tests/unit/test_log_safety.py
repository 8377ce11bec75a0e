"""Log lines: escaped messages, indented tracebacks, packet records without data, logfmt fields."""

from __future__ import annotations

import logging
import sys

from adapters.inbound.log_safety import EscapingFormatter, NoPacketBodies, escape_line
from application.security import _logfmt


def _record(msg: str, args: tuple[object, ...] = (), exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("bad\nFORGED line")
        except ValueError:
            exc_info = sys.exc_info()
    return logging.LogRecord("x", logging.WARNING, __file__, 1, msg, args, exc_info)


def test_controls_become_visible_escapes() -> None:
    assert escape_line("a\nb\rc\td\x1b[31m\u2028") == "a\\nb\\rc\\td\\x1b[31m\\x2028"
    assert escape_line("plain text") == "plain text"


def test_every_line_of_a_record_starts_with_our_prefix() -> None:
    text = EscapingFormatter("%(levelname)s %(message)s").format(_record("event %s", ("x\nFORGED",), exc=True))
    lines = text.splitlines()
    assert lines[0] == "WARNING event x\\nFORGED"
    assert all(line.startswith("    | ") for line in lines[1:]) and len(lines) > 2


def test_packet_records_lose_their_data() -> None:
    record = _record("%s: Received packet %s data %s", ("sid", "MESSAGE", '0{"session_id":"s3cret"}'))
    assert NoPacketBodies().filter(record) and "s3cret" not in record.getMessage()


def test_logfmt_quotes_anything_not_plain() -> None:
    assert _logfmt(42) == "42" and _logfmt("join_room") == "join_room"
    assert _logfmt('a b="c"\n') == '"a b=\\"c\\"\\n"'
