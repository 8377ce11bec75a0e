"""Connecting a user to a Pixelfed or Mastodon instance: the connection and its encrypted access token."""

from __future__ import annotations

from typing import Any

from application.outbox import Outbox
from application.ports import (
    PlatformCredentials,
    PlatformRepository,
    PlatformUnavailable,
    PlatformVerifier,
    Unavailable,
    UnitOfWork,
    UserRepository,
)
from domain import events, messages
from domain.errors import DomainError, ErrorCode
from domain.events import CONNECT_PLATFORM_SCHEMA
from domain.platforms import PlatformConnection, PlatformStatus, PlatformType
from domain.validation import validate


class ConnectPlatform:
    """Stores the connection and its token, then asks the instance once: its status goes to the user."""

    def __init__(
        self,
        users: UserRepository,
        platforms: PlatformRepository,
        credentials: PlatformCredentials,
        unit_of_work: UnitOfWork,
        verifier: PlatformVerifier | None = None,
        outbox: Outbox | None = None,
    ) -> None:
        self._unit_of_work = unit_of_work
        self._users = users
        self._platforms = platforms
        self._credentials = credentials
        self._verifier = verifier
        self._outbox = outbox

    async def from_request(self, body: Any) -> PlatformConnection:
        fields = validate(CONNECT_PLATFORM_SCHEMA, body)
        return await self(
            fields["user_id"],
            fields["name"],
            PlatformType(fields["platform_type"]),
            fields["instance_url"],
            fields["access_token"],
        )

    async def for_username(
        self, username: str, name: str, platform_type: PlatformType, instance_url: str, access_token: str | None
    ) -> PlatformConnection:
        """The CLI's way in: the user by name."""
        user = await self._users.get_by_username(username)
        if user is None:
            raise DomainError(ErrorCode.NOT_FOUND, "No such user", username=username)
        return await self(user.id, name, platform_type, instance_url, access_token)

    async def __call__(
        self, user_id: int, name: str, platform_type: PlatformType, instance_url: str, access_token: str | None
    ) -> PlatformConnection:
        """`access_token` None: the connection only (the CLI's `platforms add` without --token), not verified."""
        user = await self._users.get(user_id)
        if user is None:
            raise DomainError(ErrorCode.NOT_FOUND, "No such user", user_id=user_id)
        if access_token is not None:
            try:
                self._credentials.check_ready()
            except Unavailable as exc:  # no key configured: refuse rather than keep a token in the clear
                raise DomainError(ErrorCode.PLATFORM_CONNECTION_ERROR, exc.message) from None
        async with self._unit_of_work.transaction():  # never a connection without the token it was given
            platform = await self._platforms.add(user_id, name, platform_type, instance_url.rstrip("/"))
            if access_token is not None:
                await self._credentials.store(platform.id, access_token)
        if access_token is None or self._verifier is None:
            return platform
        # asked outside the transaction: no database transaction is held across a call to the instance
        status = PlatformStatus.CONNECTED
        try:
            await self._verifier.verify(platform)
        except PlatformUnavailable as exc:  # kept all the same: the user may fix the instance or the token later
            status = PlatformStatus.DISCONNECTED if exc.unreachable else PlatformStatus.ERROR
        platform = await self._platforms.set_status(platform.id, status, None)
        if self._outbox is not None:
            await self._outbox.to_user(user_id, events.PLATFORM_CONNECTION_STATUS, messages.platform_status(platform))
        return platform


class TrackPlatformReachability:
    """Fed by the platform health probe: connections of an instance that stops answering become
    `disconnected`, and `connected` again when it answers; each change is told to its user once."""

    def __init__(self, platforms: PlatformRepository, outbox: Outbox) -> None:
        self._platforms = platforms
        self._outbox = outbox

    async def __call__(self, reachable: dict[str, bool]) -> None:
        for instance_url, up in sorted(reachable.items()):
            if up:  # a refused token (`error`) stays refused: only a sync or a new token clears it
                changed = await self._platforms.change_status_on_instance(
                    instance_url, (PlatformStatus.DISCONNECTED,), PlatformStatus.CONNECTED
                )
            else:
                changed = await self._platforms.change_status_on_instance(
                    instance_url, (PlatformStatus.CONNECTED,), PlatformStatus.DISCONNECTED
                )
            for platform in changed:
                await self._outbox.to_user(
                    platform.user_id, events.PLATFORM_CONNECTION_STATUS, messages.platform_status(platform)
                )
