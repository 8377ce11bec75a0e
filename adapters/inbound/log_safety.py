"""Log lines no client can forge or fill with secrets: escaped messages, engine packets without bodies."""

from __future__ import annotations

import logging
import re
from typing import Any

from aiohttp.http_exceptions import HttpProcessingError

from adapters.inbound.gc_tuning import collect_soon

# C0 controls, DEL and the Unicode line/paragraph separators: anything a terminal or a log shipper may
# read as the end of a line or a control sequence.
_CONTROL = re.compile("[\x00-\x1f\x7f\u0085\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_line(text: str) -> str:
    """`text` on one line: newlines and other controls become visible escapes."""
    if not _CONTROL.search(text):
        return text
    return _CONTROL.sub(lambda m: _NAMED.get(m.group(), f"\\x{ord(m.group()):02x}"), text)


class EscapingFormatter(logging.Formatter):
    """A human-readable formatter whose every record starts exactly one line with our own prefix.

    The message is escaped onto one line; a traceback keeps its lines, each indented by `| ` so that
    no text from an exception message can start a line that looks like a record.
    """

    def formatMessage(self, record: logging.LogRecord) -> str:
        return escape_line(super().formatMessage(record))

    def formatException(self, ei: object) -> str:
        return _indented(super().formatException(ei))  # type: ignore[arg-type]

    def formatStack(self, stack_info: str) -> str:
        return _indented(super().formatStack(stack_info))


def _indented(text: str) -> str:
    return "\n".join("    | " + escape_line(line) for line in text.splitlines())


_PACKET_LOGS = ("%s: Received packet %s data %s", "%s: Sending packet %s data %s")


class NoPacketBodies(logging.Filter):
    """python-engineio logs every packet with its data (session ids, CSRF tokens, event bodies) at INFO.

    We run its logger at WARNING; should anyone lower it, packet records keep their type and lose their data.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg in _PACKET_LOGS and isinstance(record.args, tuple) and len(record.args) == 3:
            data = record.args[2]
            record.args = (
                record.args[0],
                record.args[1],
                f"<{len(data) if isinstance(data, str | bytes) else 0} chars>",
            )
        return True


def quiet_engine_logger(engine_log: logging.Logger) -> None:
    """The engine's packet logging off at INFO (the engine itself would log at INFO), never with bodies."""
    engine_log.setLevel(logging.WARNING)
    if not any(isinstance(f, NoPacketBodies) for f in engine_log.filters):
        engine_log.addFilter(NoPacketBodies())


def install_escaping(fmt: str) -> None:
    """Every handler of the root logger formats through EscapingFormatter (human-readable lines)."""
    for handler in logging.getLogger().handlers:
        current = handler.formatter
        if current is None or type(current) is logging.Formatter:
            handler.setFormatter(EscapingFormatter(fmt))


class BadRequestsCounted(logging.Filter):
    """aiohttp logs a request it could not parse (too many or too long headers, a bad request line) as
    "Error handling request" with a traceback: the client's doing, answered 400. It becomes a counted
    security event (`bad_http_request`) instead of a traceback per request."""

    def __init__(self, security: Any) -> None:
        super().__init__()
        self.security = security

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError) and 400 <= (exc.code or 0) < 500:
            if self.security is not None:
                self.security.record("bad_http_request", status=exc.code)
            # The traceback keeps aiohttp's data_received frame, whose locals lead back to this exception: a cycle
            # holding the refused connection's parser (every header read) and the chunk it read, ~1 MB each, for
            # the cyclic collector to find. The record is dropped here, so nothing needs the traceback any more.
            exc.__traceback__ = None
            collect_soon()
            return False
        return True


def count_bad_requests(security: Any) -> None:
    server_log = logging.getLogger("aiohttp.server")
    for old in [f for f in server_log.filters if isinstance(f, BadRequestsCounted)]:
        server_log.removeFilter(old)
    server_log.addFilter(BadRequestsCounted(security))
