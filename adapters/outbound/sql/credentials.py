"""PlatformCredentials over SQL: one encrypted access token per platform connection."""

from __future__ import annotations

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.outbound.crypto import TokenCipher
from adapters.outbound.sql.convert import now_dt
from adapters.outbound.sql.errors import storage_errors
from adapters.outbound.sql.tables import platform_credentials as credentials
from adapters.outbound.sql.unit_of_work import writing
from application.ports import PlatformUnavailable
from domain.platforms import PlatformConnection


@storage_errors
class SqlPlatformCredentials:
    def __init__(self, engine: AsyncEngine, cipher: TokenCipher) -> None:
        self._engine = engine
        self._cipher = cipher

    def check_ready(self) -> None:
        self._cipher.encrypt("")

    async def store(self, platform_id: int, token: str) -> None:
        ciphertext = self._cipher.encrypt(token)
        async with writing(self._engine) as conn:
            await conn.execute(delete(credentials).where(credentials.c.platform_id == platform_id))
            await conn.execute(
                insert(credentials).values(platform_id=platform_id, token_ciphertext=ciphertext, updated_at=now_dt())
            )

    async def token_for(self, platform: PlatformConnection) -> str:
        query = select(credentials.c.token_ciphertext).where(credentials.c.platform_id == platform.id)
        async with self._engine.connect() as conn:
            ciphertext = (await conn.execute(query)).scalar()
        if ciphertext is None:
            raise PlatformUnavailable(f"No access token is stored for platform connection {platform.id}", False)
        return self._cipher.decrypt(ciphertext)
