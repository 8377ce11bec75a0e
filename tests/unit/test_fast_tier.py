"""The unit tier's own rule, checked: it cannot reach the network (see conftest.py)."""

from __future__ import annotations

import asyncio
import socket

import pytest


async def test_the_unit_tier_refuses_network_connections() -> None:
    with pytest.raises(AssertionError, match="belongs in tests/integration"):
        await asyncio.open_connection("127.0.0.1", 6379)
    with pytest.raises(AssertionError, match="belongs in tests/integration"):
        socket.create_connection(("127.0.0.1", 5432))
