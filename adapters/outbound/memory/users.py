"""In-memory UserRepository: the twin of the SQL adapter for fast tests and embedding."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from application.port_errors import Conflict
from domain.identity import Role, User


class InMemoryUserRepository:
    def __init__(self) -> None:
        self._users: dict[int, User] = {}
        self._next_id = 1

    async def get(self, user_id: int) -> User | None:
        return self._users.get(user_id)

    async def get_many(self, user_ids: Iterable[int]) -> dict[int, User]:
        return {i: self._users[i] for i in user_ids if i in self._users}

    async def get_by_username(self, username: str) -> User | None:
        return next((user for user in self._users.values() if user.username == username), None)

    async def add(self, username: str, role: Role, active: bool = True) -> User:
        if await self.get_by_username(username) is not None:
            raise Conflict(f"username {username!r} is taken")
        user = User(id=self._next_id, username=username, role=Role(role), active=active)
        self._users[user.id] = user
        self._next_id += 1
        return user

    async def set_active(self, user_id: int, active: bool) -> None:
        user = self._users.get(user_id)
        if user is not None:
            self._users[user_id] = replace(user, active=active)
