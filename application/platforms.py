"""Connecting a user to a Pixelfed or Mastodon instance: the connection and its encrypted access token."""

from __future__ import annotations

from typing import Any

from application.ports import PlatformCredentials, PlatformRepository, UserRepository
from domain.errors import DomainError, ErrorCode
from domain.events import CONNECT_PLATFORM_SCHEMA
from domain.platforms import PlatformConnection, PlatformType
from domain.validation import validate


class ConnectPlatform:
    def __init__(self, users: UserRepository, platforms: PlatformRepository, credentials: PlatformCredentials) -> None:
        self._users = users
        self._platforms = platforms
        self._credentials = credentials

    async def from_request(self, body: Any) -> PlatformConnection:
        fields = validate(CONNECT_PLATFORM_SCHEMA, body)
        return await self(
            fields["user_id"],
            fields["name"],
            PlatformType(fields["platform_type"]),
            fields["instance_url"],
            fields["access_token"],
        )

    async def __call__(
        self, user_id: int, name: str, platform_type: PlatformType, instance_url: str, access_token: str
    ) -> PlatformConnection:
        user = await self._users.get(user_id)
        if user is None:
            raise DomainError(ErrorCode.NOT_FOUND, "No such user", user_id=user_id)
        try:
            self._credentials.check_ready()
        except ValueError as exc:  # no key configured: refuse rather than keep a token in the clear
            raise DomainError(ErrorCode.PLATFORM_CONNECTION_ERROR, str(exc)) from None
        platform = await self._platforms.add(user_id, name, platform_type, instance_url.rstrip("/"))
        await self._credentials.store(platform.id, access_token)
        return platform
