"""ReviewRepository over SQL: a unique (job_id, post_id) makes intake idempotent; saves are version-guarded UPDATEs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Insert, and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.outbound.sql.convert import SqlRow, now_dt, to_dt, to_dt_or_none, to_epoch, to_epoch_or_none
from adapters.outbound.sql.errors import storage_errors
from adapters.outbound.sql.tables import review_items as items
from adapters.outbound.sql.tables import review_settings as settings
from application.port_errors import Conflict
from domain.platforms import PlatformType
from domain.review import ReviewItem, ReviewStatus

_TIMES = ("claimed_at", "published_at")


def _values(item: ReviewItem) -> dict[str, Any]:
    values = {name: getattr(item, name) for name in items.c.keys()}
    values["platform_type"] = item.platform_type.value
    values["status"] = item.status.value
    values["created_at"] = to_dt(item.created_at)
    values["updated_at"] = to_dt(item.updated_at)
    for name in _TIMES:
        values[name] = to_dt_or_none(values[name])
    return values


def _item(row: SqlRow) -> ReviewItem:
    fields = dict(row._mapping)
    fields["platform_type"] = PlatformType(fields["platform_type"])
    fields["status"] = ReviewStatus(fields["status"])
    fields["created_at"] = to_epoch(fields["created_at"])
    fields["updated_at"] = to_epoch(fields["updated_at"])
    if fields["retry_possible"] is not None:
        fields["retry_possible"] = bool(fields["retry_possible"])
    for name in _TIMES:
        fields[name] = to_epoch_or_none(fields[name])
    return ReviewItem(**fields)


def _insert_new(dialect: str) -> Insert:
    """An INSERT that skips a (job_id, post_id) already stored instead of failing."""
    if dialect == "postgresql":
        return postgresql.insert(items).on_conflict_do_nothing(index_elements=["job_id", "post_id"])
    if dialect == "sqlite":
        return sqlite.insert(items).on_conflict_do_nothing(index_elements=["job_id", "post_id"])
    raise NotImplementedError(f"no upsert for {dialect}")


def _upsert_setting(dialect: str, platform_id: int, enabled: bool) -> Insert:
    values = {"platform_id": platform_id, "auto_approve": enabled, "updated_at": now_dt()}
    if dialect == "postgresql":
        pg = postgresql.insert(settings).values(**values)
        return pg.on_conflict_do_update(index_elements=["platform_id"], set_={"auto_approve": enabled})
    if dialect == "sqlite":
        lite = sqlite.insert(settings).values(**values)
        return lite.on_conflict_do_update(index_elements=["platform_id"], set_={"auto_approve": enabled})
    raise NotImplementedError(f"no upsert for {dialect}")


@storage_errors
class SqlReviewRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add(self, item: ReviewItem) -> bool:
        try:
            async with self._engine.begin() as conn:
                inserted = await conn.execute(_insert_new(self._engine.dialect.name).values(**_values(item)))
        except IntegrityError as exc:  # the (job_id, post_id) conflict is skipped: only the id is left to clash
            raise Conflict(f"a review item with id {item.id!r} exists") from exc
        return inserted.rowcount == 1

    async def get(self, item_id: str) -> ReviewItem | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(items).where(items.c.id == item_id))).first()
        return _item(row) if row is not None else None

    async def find(
        self, owner_id: int | None, statuses: Iterable[ReviewStatus] | None = None, limit: int = 200
    ) -> list[ReviewItem]:
        query = select(items).order_by(items.c.created_at.desc(), items.c.id.desc()).limit(limit)
        if owner_id is not None:
            query = query.where(items.c.user_id == owner_id)
        if statuses is not None:
            query = query.where(items.c.status.in_([ReviewStatus(s).value for s in statuses]))
        async with self._engine.connect() as conn:
            return [_item(row) for row in await conn.execute(query)]

    async def save(self, item: ReviewItem) -> bool:
        values = _values(item)
        for fixed in ("id", "created_at", "job_id", "post_id"):
            values.pop(fixed)
        statement = update(items).where(items.c.id == item.id, items.c.version == item.version - 1).values(**values)
        async with self._engine.begin() as conn:
            changed = await conn.execute(statement)
        return changed.rowcount == 1

    async def publishable(self, stale_before: float, limit: int) -> list[ReviewItem]:
        stale = and_(items.c.status == ReviewStatus.PUBLISHING.value, items.c.claimed_at < to_dt(stale_before))
        query = (
            select(items)
            .where(or_(items.c.status == ReviewStatus.APPROVED.value, stale))
            .order_by(items.c.updated_at, items.c.id)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            return [_item(row) for row in await conn.execute(query)]

    async def batch_counts(self, batch_id: str) -> dict[ReviewStatus, int]:
        query = select(items.c.status, func.count()).where(items.c.batch_id == batch_id).group_by(items.c.status)
        async with self._engine.connect() as conn:
            return {ReviewStatus(status): int(n) for status, n in await conn.execute(query)}

    async def auto_approve(self, platform_id: int) -> bool:
        query = select(settings.c.auto_approve).where(settings.c.platform_id == platform_id)
        async with self._engine.connect() as conn:
            value = (await conn.execute(query)).scalar()
        return bool(value)

    async def set_auto_approve(self, platform_id: int, enabled: bool) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(_upsert_setting(self._engine.dialect.name, platform_id, enabled))
