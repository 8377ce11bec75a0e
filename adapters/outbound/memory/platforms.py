"""In-memory PlatformRepository."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from application.port_errors import NotFound
from application.ports import UserRepository
from domain.platforms import PlatformConnection, PlatformStatus, PlatformType


class InMemoryPlatformRepository:
    def __init__(self, users: UserRepository | None = None) -> None:
        """With `users`, adding a connection for an unknown user fails as a foreign key would."""
        self._users = users
        self._platforms: dict[int, PlatformConnection] = {}
        self._next_id = 1

    def snapshot(self) -> tuple[dict[int, PlatformConnection], int]:
        """For InMemoryUnitOfWork (connections are frozen: a shallow copy is a snapshot)."""
        return dict(self._platforms), self._next_id

    def restore(self, state: tuple[dict[int, PlatformConnection], int]) -> None:
        self._platforms.clear()
        self._platforms.update(state[0])
        self._next_id = state[1]

    async def get(self, platform_id: int) -> PlatformConnection | None:
        return self._platforms.get(platform_id)

    async def for_user(self, user_id: int) -> list[PlatformConnection]:
        return [p for p in self._platforms.values() if p.user_id == user_id]

    async def instance_urls(self) -> list[str]:
        return sorted({p.instance_url for p in self._platforms.values()})

    async def add(self, user_id: int, name: str, platform_type: PlatformType, instance_url: str) -> PlatformConnection:
        if self._users is not None and await self._users.get(user_id) is None:
            raise NotFound(f"no user {user_id}")
        platform = PlatformConnection(
            id=self._next_id,
            user_id=user_id,
            name=name,
            platform_type=PlatformType(platform_type),
            instance_url=instance_url,
        )
        self._platforms[platform.id] = platform
        self._next_id += 1
        return platform

    async def set_status(self, platform_id: int, status: PlatformStatus, last_sync: float | None) -> PlatformConnection:
        platform = self._platforms.get(platform_id)
        if platform is None:
            raise NotFound(f"no platform connection {platform_id}")
        updated = replace(
            platform,
            status=PlatformStatus(status),
            last_sync=platform.last_sync if last_sync is None else last_sync,
        )
        self._platforms[platform_id] = updated
        return updated

    async def change_status_on_instance(
        self, instance_url: str, allowed_from: Iterable[PlatformStatus], status: PlatformStatus
    ) -> list[PlatformConnection]:
        allowed = set(allowed_from)
        changed = []
        for platform in sorted(self._platforms.values(), key=lambda p: p.id):
            if platform.instance_url == instance_url and platform.status in allowed:
                updated = replace(platform, status=PlatformStatus(status))
                self._platforms[platform.id] = updated
                changed.append(updated)
        return changed
