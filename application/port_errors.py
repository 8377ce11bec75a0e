"""The one error taxonomy at the ports: what an adapter raises when it cannot do what was asked.

Adapters raise these (never a bare LookupError/ValueError); each inbound adapter (socket gate, HTTP API, CLI)
maps them once, with `refusal()`, to the standard error envelope. `StorageFailed` (application/ports.py) is
the database's Unavailable and is already a DomainError (DATABASE_ERROR).
"""

from __future__ import annotations

from domain.errors import DomainError, ErrorCode


class PortError(Exception):
    code: ErrorCode = ErrorCode.INTERNAL_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message  # said to the caller: adapters put no secrets or message bodies in it

    def refusal(self) -> DomainError:
        return DomainError(self.code, self.message)


class NotFound(PortError, LookupError):
    """What the call names does not exist (a user, a job, a platform connection)."""

    code = ErrorCode.NOT_FOUND


class Conflict(PortError, ValueError):
    """The write would break a uniqueness rule (a taken username, an id that exists)."""

    code = ErrorCode.CONFLICT


class Unavailable(PortError):
    """The backing service cannot do it now, or is not configured to (retry_possible says which)."""

    code = ErrorCode.PLATFORM_CONNECTION_ERROR

    def __init__(self, message: str, retry_possible: bool = True) -> None:
        super().__init__(message)
        self.retry_possible = retry_possible


def refusal_of(exc: Exception) -> DomainError | None:
    """The standard refusal of a port's error (a DomainError as it is); None for anything else (a bug)."""
    if isinstance(exc, DomainError):
        return exc
    if isinstance(exc, PortError):
        return exc.refusal()
    return None
