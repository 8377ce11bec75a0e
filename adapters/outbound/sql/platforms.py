"""PlatformRepository over SQL."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.outbound.sql.convert import SqlRow, to_dt, to_epoch_or_none
from adapters.outbound.sql.errors import storage_errors
from adapters.outbound.sql.tables import platform_connections as platforms
from adapters.outbound.sql.unit_of_work import writing
from application.port_errors import NotFound
from domain.platforms import PlatformConnection, PlatformStatus, PlatformType


def _platform(row: SqlRow) -> PlatformConnection:
    return PlatformConnection(
        id=row.id,
        user_id=row.user_id,
        name=row.name,
        platform_type=PlatformType(row.platform_type),
        instance_url=row.instance_url,
        status=PlatformStatus(row.status),
        last_sync=to_epoch_or_none(row.last_sync),
    )


@storage_errors
class SqlPlatformRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, platform_id: int) -> PlatformConnection | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(platforms).where(platforms.c.id == platform_id))).first()
        return _platform(row) if row is not None else None

    async def for_user(self, user_id: int) -> list[PlatformConnection]:
        query = select(platforms).where(platforms.c.user_id == user_id).order_by(platforms.c.id)
        async with self._engine.connect() as conn:
            return [_platform(row) for row in await conn.execute(query)]

    async def instance_urls(self) -> list[str]:
        query = select(platforms.c.instance_url).distinct().order_by(platforms.c.instance_url)
        async with self._engine.connect() as conn:
            return list((await conn.execute(query)).scalars())

    async def add(self, user_id: int, name: str, platform_type: PlatformType, instance_url: str) -> PlatformConnection:
        statement = (
            insert(platforms)
            .values(
                user_id=user_id,
                name=name,
                platform_type=PlatformType(platform_type).value,
                instance_url=instance_url,
                status=PlatformStatus.DISCONNECTED.value,
                last_sync=None,
            )
            .returning(*platforms.c)
        )
        try:
            async with writing(self._engine) as conn:
                row = (await conn.execute(statement)).one()
        except IntegrityError as exc:  # the only constraint an insert can break here is the user's foreign key
            raise NotFound(f"no user {user_id}") from exc
        return _platform(row)

    async def set_status(self, platform_id: int, status: PlatformStatus, last_sync: float | None) -> PlatformConnection:
        values: dict[str, object] = {"status": PlatformStatus(status).value}
        if last_sync is not None:
            values["last_sync"] = to_dt(last_sync)
        statement = update(platforms).where(platforms.c.id == platform_id).values(**values).returning(*platforms.c)
        async with writing(self._engine) as conn:
            row = (await conn.execute(statement)).first()
        if row is None:
            raise NotFound(f"no platform connection {platform_id}")
        return _platform(row)

    async def change_status_on_instance(
        self, instance_url: str, allowed_from: Iterable[PlatformStatus], status: PlatformStatus
    ) -> list[PlatformConnection]:
        allowed = [PlatformStatus(s).value for s in allowed_from]
        if not allowed:
            return []
        statement = (
            update(platforms)
            .where(platforms.c.instance_url == instance_url, platforms.c.status.in_(allowed))
            .values(status=PlatformStatus(status).value)
            .returning(*platforms.c)
        )
        async with self._engine.begin() as conn:
            rows = (await conn.execute(statement)).all()
        return sorted((_platform(row) for row in rows), key=lambda p: p.id)
