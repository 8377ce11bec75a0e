"""A port error while a socket connects is refused in the standard envelope (mapped once, in the gateway)."""

from __future__ import annotations

from typing import Any

from adapters.inbound.socketio.gateway import SocketGateway
from application.ports import NotFound
from domain.errors import DomainError, ErrorCode
from tests.unit.twins import CountingTokens, FakeClock


class FakeManager:
    def eio_sid_from_sid(self, sid: str, namespace: str) -> str:
        return "eio-" + sid


class FakeServer:
    manager = FakeManager()

    def on(self, *_: Any, **__: Any) -> None:
        pass


class RecordingRefusals:
    def __init__(self) -> None:
        self.refused: list[DomainError] = []

    def refuse(self, err: DomainError, **_: Any) -> None:
        self.refused.append(err)


async def test_a_port_error_in_the_connect_use_case_becomes_its_refusal_not_an_internal_error() -> None:
    async def connect(*_: Any, **__: Any) -> None:
        raise NotFound("no user 7")

    async def disconnect(*_: Any) -> None:
        raise AssertionError("a refused connect is not torn down as a server error")

    refusals = RecordingRefusals()
    gateway = SocketGateway(
        FakeServer(),  # type: ignore[arg-type]
        connect,  # type: ignore[arg-type]
        disconnect,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        FakeClock(),
        CountingTokens(),
        "session",
        "/login",
        refusals=refusals,  # type: ignore[arg-type]
    )
    await gateway._on_connect("/", "sid-1", {"HTTP_COOKIE": "session=abc"}, {})
    (refusal,) = refusals.refused
    assert (refusal.code, refusal.message) == (ErrorCode.NOT_FOUND, "no user 7")
