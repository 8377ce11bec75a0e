"""Field rules for every inbound message: types, lengths, ranges, UTF-8, escaped HTML, no unknown fields."""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.errors import DomainError, ErrorCode

MAX_STRING_LENGTH = 1000


def _invalid(field: str, reason: str) -> DomainError:
    return DomainError(ErrorCode.INVALID_MESSAGE, f"Field '{field}' {reason}", field=field)


@dataclass(frozen=True, slots=True)
class Field:
    kind: str  # "str", "int", "number", "bool", "timestamp", "ids" (a list of at most max_length id strings)
    required: bool = False
    max_length: int = MAX_STRING_LENGTH
    choices: frozenset[str] | None = None
    minimum: float | None = None
    maximum: float | None = None
    pattern: re.Pattern[str] | None = None
    escape: bool = True
    url: bool = False  # the one URL rule: safe_url

    def clean(self, name: str, value: Any) -> Any:
        kind = self.kind
        if kind == "str":
            return self._clean_str(name, value)
        if kind == "bool":
            if not isinstance(value, bool):
                raise _invalid(name, "must be true or false")
            return value
        if kind in ("int", "number"):
            return self._clean_number(name, value)
        if kind == "ids":
            return self._clean_ids(name, value)
        if kind == "timestamp":
            if not isinstance(value, str) or parse_iso8601(value) is None:
                raise _invalid(name, "must be an ISO 8601 timestamp")
            return value
        raise ValueError(f"unknown field kind {kind}")

    def _clean_str(self, name: str, value: Any) -> str:
        if not isinstance(value, str):
            raise _invalid(name, "must be a string")
        if len(value) > self.max_length:
            raise _invalid(name, f"must be at most {self.max_length} characters")
        if not is_valid_utf8(value):
            raise _invalid(name, "must be valid UTF-8")
        if self.choices is not None and value not in self.choices:
            raise _invalid(name, f"must be one of {', '.join(sorted(self.choices))}")
        if self.pattern is not None and not self.pattern.fullmatch(value):
            raise _invalid(name, "has an invalid format")
        if self.url and not safe_url(value):
            raise _invalid(name, "must be a relative path or an http(s) URL")
        return html.escape(value, quote=True) if self.escape else value

    def _clean_ids(self, name: str, value: Any) -> list[str]:
        if not isinstance(value, list) or not value:
            raise _invalid(name, "must be a non-empty list of ids")
        if len(value) > self.max_length:
            raise _invalid(name, f"must hold at most {self.max_length} ids")
        pattern = self.pattern or _MESSAGE_ID
        if not all(isinstance(v, str) and pattern.fullmatch(v) for v in value):
            raise _invalid(name, "must hold id strings only")
        return list(dict.fromkeys(value))

    def _clean_number(self, name: str, raw: Any) -> int | float:
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise _invalid(name, "must be a number")
        value: int | float = raw
        if self.kind == "int" and not isinstance(value, int):
            if not (math.isfinite(value) and value == int(value)):
                raise _invalid(name, "must be a whole number")
            value = int(value)
        if isinstance(value, float) and not math.isfinite(value):
            raise _invalid(name, "must be a finite number")
        if self.minimum is not None and value < self.minimum:
            raise _invalid(name, f"must be at least {self.minimum:g}")
        if self.maximum is not None and value > self.maximum:
            raise _invalid(name, f"must be at most {self.maximum:g}")
        return value


Schema = Mapping[str, Field]

_MESSAGE_ID = re.compile(r"[A-Za-z0-9_.:\-]{1,100}")

# Fields any client event may carry besides its own; the server reads them but never stores them.
ENVELOPE_SCHEMA: dict[str, Field] = {
    "message_id": Field("str", max_length=100, escape=False, pattern=_MESSAGE_ID),
    "correlation_id": Field("str", max_length=100, escape=False, pattern=_MESSAGE_ID),
    "csrf_token": Field("str", max_length=200, escape=False),
    "timestamp": Field("timestamp"),
}


def validate(schema: Schema, data: Any) -> dict[str, Any]:
    """Cleaned copy of `data` under `schema` (plus the envelope fields), or INVALID_MESSAGE."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise DomainError(ErrorCode.INVALID_MESSAGE, "The event data must be a JSON object")
    cleaned: dict[str, Any] = {}
    for name, value in data.items():
        rule = schema.get(name) if isinstance(name, str) else None
        if rule is None:
            rule = ENVELOPE_SCHEMA.get(name) if isinstance(name, str) else None
        if rule is None:
            raise DomainError(
                ErrorCode.INVALID_MESSAGE,
                "Unknown field",
                field=html.escape(str(name)[:100]),
                allowed=sorted(schema),
            )
        if value is None and not rule.required:
            continue
        cleaned[name] = rule.clean(name, value)
    for name, rule in schema.items():
        if rule.required and name not in cleaned:
            raise _invalid(name, "is required")
    return cleaned


def correlation_id_of(data: Any) -> str | None:
    """The id a reply echoes as correlation_id: the request's own correlation_id, else its message_id.

    Only a well-formed id is echoed, checked before anything else because even a refusal echoes it:
    a raw id would reflect HTML.
    """
    if not isinstance(data, dict):
        return None
    for name in ("correlation_id", "message_id"):
        value = data.get(name)
        if isinstance(value, str) and _MESSAGE_ID.fullmatch(value):
            return value
    return None


def is_valid_utf8(value: str) -> bool:
    """False for strings holding lone surrogates, which JSON escapes can smuggle in."""
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_iso8601(value: str) -> datetime | None:
    if len(value) > 40:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        return None


_URL_NEVER = re.compile(r"[\x00-\x20\x7f\\]")


def safe_url(value: str) -> bool:
    """Relative paths and http(s) URLs only: no javascript: or data: links in notifications.

    No whitespace, control characters or backslashes anywhere: browsers read `/\\host` as `//host` (another
    site) and drop tabs and newlines inside URLs, so `/<tab>/host` is one too.
    """
    if _URL_NEVER.search(value):
        return False
    relative = value.startswith("/") and not value.startswith("//")
    return relative or value.lower().startswith(("https://", "http://"))
