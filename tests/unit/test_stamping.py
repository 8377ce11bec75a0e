"""One stamp for every server payload: the injected clock's time and a fresh message id, also on the engine's
own refusals (foreign Origin, JSONP, handshake budget) that never pass through a use case."""

from __future__ import annotations

import json

from aiohttp.test_utils import make_mocked_request

from adapters.inbound.client_address import ClientAddress
from adapters.inbound.handshake_guard import HandshakeGuard
from adapters.inbound.socketio.engine_door import OriginPolicy, _no_jsonp
from adapters.outbound.memory.limits import InMemoryRateLimitStore
from application.stamping import Stamp
from domain import messages
from domain.rate_limit import RateRule
from tests.unit.twins import CountingTokens, FakeClock

AT = "2023-11-14T22:13:20.000Z"  # FakeClock's time, 1_700_000_000


def stamp() -> Stamp:
    return Stamp(FakeClock(1_700_000_000.0), CountingTokens())


def test_the_domain_stamp_sets_time_id_and_only_a_given_correlation_id() -> None:
    assert messages.stamp({"a": 1}, 1_700_000_000.0, "m1") == {"a": 1, "timestamp": AT, "message_id": "m1"}
    replied = messages.stamp({}, 1_700_000_000.0, "m2", "c-9")
    assert replied == {"timestamp": AT, "message_id": "m2", "correlation_id": "c-9"}


def test_the_stamper_reads_the_injected_clock_and_a_new_id_each_time() -> None:
    stamper = stamp()
    first, second = stamper({}), stamper({}, "corr")
    assert first["timestamp"] == second["timestamp"] == AT
    assert first["message_id"] != second["message_id"]
    assert second["correlation_id"] == "corr"


def test_an_origin_refusal_is_stamped_by_the_injected_stamper() -> None:
    refusal = OriginPolicy(["https://ok.example"], None, stamp()).refusal("https://evil.example")
    assert refusal is not None and refusal.status == 403
    data = refusal.text and json.loads(refusal.text)["data"]
    assert data["error_code"] == "CORS_ORIGIN_NOT_ALLOWED"
    assert (data["timestamp"], bool(data["message_id"])) == (AT, True)


def test_a_jsonp_refusal_is_stamped_by_the_injected_stamper() -> None:
    data = json.loads(_no_jsonp(stamp()).text or "")["data"]
    assert (data["error_code"], data["timestamp"], bool(data["message_id"])) == ("TRANSPORT_ERROR", AT, True)


async def test_a_handshake_over_budget_is_refused_with_a_stamped_error() -> None:
    clock = FakeClock(1_700_000_000.0)
    guard = HandshakeGuard(
        InMemoryRateLimitStore(), RateRule(1, 60.0), ClientAddress(()), clock, None, Stamp(clock, CountingTokens())
    )
    request = make_mocked_request("GET", "/socket.io/?EIO=4&transport=polling")
    assert await guard.refusal(request) is None
    refusal = await guard.refusal(request)
    assert refusal is not None and refusal.status == 429
    data = json.loads(refusal.text or "")["data"]
    assert (data["error_code"], data["timestamp"], bool(data["message_id"])) == ("RATE_LIMIT_EXCEEDED", AT, True)
