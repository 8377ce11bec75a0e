"""Error codes of the API reference, the codes we added, and the error that carries one."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    # Authentication (reference)
    AUTH_REQUIRED = "AUTH_REQUIRED"
    AUTH_INVALID_SESSION = "AUTH_INVALID_SESSION"
    AUTH_INSUFFICIENT_PRIVILEGES = "AUTH_INSUFFICIENT_PRIVILEGES"
    # Connection (reference)
    CONNECTION_TIMEOUT = "CONNECTION_TIMEOUT"
    CONNECTION_REFUSED = "CONNECTION_REFUSED"
    TRANSPORT_ERROR = "TRANSPORT_ERROR"
    # CORS (reference)
    CORS_ORIGIN_NOT_ALLOWED = "CORS_ORIGIN_NOT_ALLOWED"
    CORS_PREFLIGHT_FAILED = "CORS_PREFLIGHT_FAILED"
    CORS_CREDENTIALS_ERROR = "CORS_CREDENTIALS_ERROR"
    # Rate limiting (reference)
    RATE_LIMIT_EXCEEDED = "RATE_LIMIT_EXCEEDED"
    CONNECTION_LIMIT_EXCEEDED = "CONNECTION_LIMIT_EXCEEDED"
    # Application (reference)
    CAPTION_GENERATION_FAILED = "CAPTION_GENERATION_FAILED"
    PLATFORM_CONNECTION_ERROR = "PLATFORM_CONNECTION_ERROR"
    DATABASE_ERROR = "DATABASE_ERROR"
    # Added where no code of the reference fits (documented in docs/events.md)
    CSRF_TOKEN_INVALID = "CSRF_TOKEN_INVALID"
    INVALID_MESSAGE = "INVALID_MESSAGE"
    UNKNOWN_EVENT = "UNKNOWN_EVENT"
    MESSAGE_TOO_LARGE = "MESSAGE_TOO_LARGE"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"  # a write that would break a uniqueness rule (application/port_errors.py)
    NO_ACTIVE_JOB = "NO_ACTIVE_JOB"
    JOB_ALREADY_ACTIVE = "JOB_ALREADY_ACTIVE"
    INVALID_JOB_STATE = "INVALID_JOB_STATE"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    # Review and publishing (issue 15)
    INVALID_REVIEW_STATE = "INVALID_REVIEW_STATE"
    REVIEW_ITEM_CHANGED = "REVIEW_ITEM_CHANGED"


# Codes a client may sensibly retry after waiting or fixing its state.
RETRYABLE = frozenset(
    {
        ErrorCode.CONNECTION_TIMEOUT,
        ErrorCode.TRANSPORT_ERROR,
        ErrorCode.RATE_LIMIT_EXCEEDED,
        ErrorCode.CONNECTION_LIMIT_EXCEEDED,
        ErrorCode.DATABASE_ERROR,
        ErrorCode.PLATFORM_CONNECTION_ERROR,
        ErrorCode.CAPTION_GENERATION_FAILED,
        ErrorCode.INTERNAL_ERROR,
        ErrorCode.REVIEW_ITEM_CHANGED,
    }
)


class DomainError(Exception):
    """A refusal with a code of the reference; never carries secrets or message bodies."""

    def __init__(self, code: ErrorCode, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details: dict[str, Any] = details

    @property
    def retry_possible(self) -> bool:
        return self.code in RETRYABLE

    def __repr__(self) -> str:
        return f"DomainError({self.code.value}, {self.message!r})"
