"""ConnectPlatform writes the connection and its token in one unit of work; the ports' error taxonomy reaches
a socket client as the standard envelope (mapped once, in the gate)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from adapters.outbound.crypto import TokenCipher
from adapters.outbound.memory.credentials import InMemoryPlatformCredentials
from adapters.outbound.memory.platforms import InMemoryPlatformRepository
from adapters.outbound.memory.unit_of_work import InMemoryUnitOfWork
from application.client_events import Reply
from application.connections import Connection
from application.platforms import ConnectPlatform
from application.ports import Conflict, NotFound, Unavailable
from domain.errors import DomainError, ErrorCode
from domain.identity import Role
from domain.platforms import PlatformType
from tests.unit.twins import World


class BrokenCredentials(InMemoryPlatformCredentials):
    async def store(self, platform_id: int, token: str) -> None:
        await super().store(platform_id, token)
        raise Unavailable("the credentials store went away")


def connect_platform(
    world: World, credentials: InMemoryPlatformCredentials
) -> tuple[ConnectPlatform, InMemoryPlatformRepository]:
    platforms = InMemoryPlatformRepository(world.users)
    uow = InMemoryUnitOfWork(platforms, credentials)
    return ConnectPlatform(world.users, platforms, credentials, uow), platforms


async def test_a_failed_token_write_leaves_no_connection_behind() -> None:
    world = World()
    alice = await world.user("alice")
    credentials = BrokenCredentials(TokenCipher(TokenCipher.new_key()))
    connect, platforms = connect_platform(world, credentials)
    with pytest.raises(Unavailable):
        await connect(alice.id, "Pix", PlatformType.PIXELFED, "https://pix.example", "token")
    assert await platforms.for_user(alice.id) == []
    assert credentials.snapshot() == {}


async def test_a_connection_and_its_token_are_kept_together_and_by_username() -> None:
    world = World()
    alice = await world.user("alice")
    credentials = InMemoryPlatformCredentials(TokenCipher(TokenCipher.new_key()))
    connect, platforms = connect_platform(world, credentials)
    added = await connect.for_username("alice", "Pix", PlatformType.PIXELFED, "https://pix.example/", "token")
    assert await platforms.for_user(alice.id) == [added] and added.instance_url == "https://pix.example"
    assert await credentials.token_for(added) == "token"
    bare = await connect.for_username("alice", "Bare", PlatformType.MASTODON, "https://m.example", None)
    assert bare.id != added.id and set(credentials.snapshot()) == {added.id}
    with pytest.raises(DomainError) as caught:
        await connect.for_username("nobody", "X", PlatformType.PIXELFED, "https://pix.example", None)
    assert caught.value.code is ErrorCode.NOT_FOUND


async def test_without_a_key_no_connection_is_stored_and_the_refusal_says_what_to_set() -> None:
    world = World()
    alice = await world.user("alice")
    connect, platforms = connect_platform(world, InMemoryPlatformCredentials(TokenCipher(None)))
    with pytest.raises(DomainError) as caught:
        await connect(alice.id, "Pix", PlatformType.PIXELFED, "https://pix.example", "token")
    assert caught.value.code is ErrorCode.PLATFORM_CONNECTION_ERROR and "PLATFORM_TOKEN_KEY" in caught.value.message
    assert await platforms.for_user(alice.id) == []


@pytest.mark.parametrize(
    ("raised", "code"),
    [
        (NotFound("no job 'j1'"), "NOT_FOUND"),
        (Conflict("a job with id 'j1' exists"), "CONFLICT"),
        (Unavailable("the instance is down"), "PLATFORM_CONNECTION_ERROR"),
    ],
)
async def test_a_port_error_in_a_use_case_is_answered_in_the_standard_envelope(raised: Exception, code: str) -> None:
    world = World()
    session = await world.session(await world.user("demo", Role.REVIEWER), 3600)
    conn = await world.connect("sid-1", "eio-1", "/", session.id, session.csrf_token, "ip")

    async def failing(conn: Connection, command: object) -> Reply:
        raise raised

    route = replace(world.routes["request_caption_status"], use_case=failing)
    world.gate._routes = {**world.routes, "request_caption_status": route}
    answer = await world.gate.handle(conn.sid, "request_caption_status", ({},))
    assert isinstance(answer, dict)
    assert (answer["error_code"], answer["error_message"]) == (code, str(raised))
    assert world.transport.sent[-1].event == "error"
