"""The Redis clients parse replies with hiredis: each node reads every broadcast from the log channel through it."""

from __future__ import annotations

from redis._parsers import _AsyncHiredisParser, _AsyncRESP2Parser

from adapters.outbound.redis.client import redis_from_url


def test_the_shared_redis_client_parses_replies_with_hiredis() -> None:
    # Without hiredis redis-py falls back to its pure-Python parser silently, at about twice the CPU
    # per pub/sub message (bench/README.md, fanout_nodes).
    client = redis_from_url("redis://127.0.0.1:6379/0")  # builds the pool; connects only when used
    parser = client.connection_pool.make_connection()._parser
    assert isinstance(parser, _AsyncHiredisParser)
    assert not isinstance(parser, _AsyncRESP2Parser)
