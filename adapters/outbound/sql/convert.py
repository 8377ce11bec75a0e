"""Epoch seconds (the domain's time) to and from timezone-aware UTC datetimes (the database's)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Row

# Any result row, whatever its columns.
SqlRow = Row[*tuple[Any, ...]]


def to_dt(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def to_dt_or_none(epoch: float | None) -> datetime | None:
    return None if epoch is None else to_dt(epoch)


def to_epoch(value: datetime) -> float:
    # SQLite hands back naive datetimes; what we stored was UTC.
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def to_epoch_or_none(value: datetime | None) -> float | None:
    return None if value is None else to_epoch(value)


def now_dt() -> datetime:
    return datetime.now(UTC)
