"""The engine's logger, one per server: its filters count this server's security events, no other's."""

from __future__ import annotations

import logging

from adapters.inbound.log_safety import count_bad_requests, quiet_engine_logger
from application.security import SecurityEvents

ENGINE_LOGGER = "vedfolnir.engineio"


class UndecodableInput(logging.Filter):
    """The engine logs a client's undecodable polling payload as an error with a traceback; it is the
    client's fault, answered with 400, so it becomes a counted security event instead."""

    def __init__(self, security: SecurityEvents | None) -> None:
        super().__init__()
        self._security = security

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, ValueError):
            if self._security is not None:
                self._security.record("malformed_packet", transport="polling")
            return False
        return True


def engine_logger(security: SecurityEvents | None) -> logging.Logger:
    """A logger of this server's own (not registered by name, so it goes with the server), propagating to
    `vedfolnir.engineio` for handlers: two servers in one process each count their own undecodable input."""
    engine_log = logging.Logger(ENGINE_LOGGER)
    engine_log.parent = logging.getLogger(ENGINE_LOGGER)
    engine_log.addFilter(UndecodableInput(security))
    quiet_engine_logger(engine_log)
    count_bad_requests(security)
    return engine_log
