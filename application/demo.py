"""Seeds the demo user, the demo admin and their demo platform connections (embedded default only)."""

from __future__ import annotations

from application.ports import PlatformRepository, UserRepository
from domain.identity import Role, User
from domain.platforms import PlatformType

DEMO_USERS = (("demo", Role.REVIEWER), ("admin", Role.ADMIN))
DEMO_INSTANCE = "https://pixelfed.example.com"


class SeedDemo:
    def __init__(self, users: UserRepository, platforms: PlatformRepository) -> None:
        self._users = users
        self._platforms = platforms

    async def __call__(self) -> list[User]:
        seeded = []
        for username, role in DEMO_USERS:
            user = await self._users.get_by_username(username) or await self._users.add(username, role)
            if not await self._platforms.for_user(user.id):
                await self._platforms.add(
                    user.id, f"{username}'s Pixelfed (demo)", PlatformType.PIXELFED, DEMO_INSTANCE
                )
            seeded.append(user)
        return seeded
