"""The fast tier runs without sockets or databases: any attempt to open a network connection fails the test."""

from __future__ import annotations

import socket
from typing import Any

import pytest


def _refuse(*_: Any, **__: Any) -> Any:
    raise AssertionError("a unit test opened a network socket: it belongs in tests/integration")


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    # The event loop's own socketpair stays possible; connecting, binding and resolving do not.
    for name in ("connect", "connect_ex", "bind"):
        monkeypatch.setattr(socket.socket, name, _refuse)
    monkeypatch.setattr(socket, "create_connection", _refuse)
    monkeypatch.setattr(socket, "getaddrinfo", _refuse)
