"""GuardedPacket (the `serializer=` seam) refuses binary and malformed packets and neutralises reserved names."""

from __future__ import annotations

import logging

import pytest

from adapters.inbound.socketio.engine_log import engine_logger
from adapters.inbound.socketio.packets import ACK_WANTED, INVALID_EVENT_NAME, GuardedPacket, RefusedPacket


@pytest.mark.parametrize(
    ("encoded", "kind", "namespace", "undecodable"),
    [
        (b"\x00\x01", "binary_refused", None, False),
        ('51-["join_room",{"_placeholder":true,"num":0}]', "binary_refused", "/", False),
        ('61-/admin,1[{"_placeholder":true,"num":0}]', "binary_refused", "/admin", False),
        ("4", "malformed_packet", None, False),
        ("9", "malformed_packet", None, False),
        ("2[", "malformed_packet", None, True),
        ("2" + "1" * 120 + "[]", "malformed_packet", None, True),
    ],
)
def test_refused_at_decode(encoded: str | bytes, kind: str, namespace: str | None, undecodable: bool) -> None:
    with pytest.raises(RefusedPacket) as refused:
        GuardedPacket(encoded_packet=encoded)
    assert (refused.value.kind, refused.value.namespace, refused.value.undecodable) == (kind, namespace, undecodable)


@pytest.mark.parametrize(
    ("encoded", "data"),
    [
        ('2["connect",{"a":1}]', [INVALID_EVENT_NAME, {"a": 1}]),
        ('2["disconnect"]', [INVALID_EVENT_NAME]),
        ('2["*","x"]', [INVALID_EVENT_NAME, "x"]),
        ("2[1,2]", [INVALID_EVENT_NAME, 2]),
        ("2[]", [INVALID_EVENT_NAME]),
        ("2{}", [INVALID_EVENT_NAME]),
        ('2["join_room",{}]', ["join_room", {}]),
    ],
)
def test_reserved_and_nameless_events_reach_the_catch_all(encoded: str, data: list[object]) -> None:
    assert GuardedPacket(encoded_packet=encoded).data == data


def test_decode_says_whether_an_ack_is_wanted() -> None:
    GuardedPacket(encoded_packet='27["join_room",{}]')
    assert ACK_WANTED.get() is True
    GuardedPacket(encoded_packet='2["join_room",{}]')
    assert ACK_WANTED.get() is False


def test_connect_and_ack_packets_pass() -> None:
    assert GuardedPacket(encoded_packet='0/admin,{"session_id":"x"}').namespace == "/admin"
    assert GuardedPacket(encoded_packet="35[]").id == 5


class Counter:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def record(self, kind: str, **_: object) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1


def test_each_server_counts_its_own_undecodable_input() -> None:
    first, second = Counter(), Counter()
    first_log, second_log = engine_logger(first), engine_logger(second)  # type: ignore[arg-type]
    try:
        raise ValueError("bad payload")
    except ValueError:
        first_log.exception("undecodable")
    assert first.counts == {"malformed_packet": 1} and second.counts == {}
    assert first_log.parent is second_log.parent is logging.getLogger("vedfolnir.engineio")
