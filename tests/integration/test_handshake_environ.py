"""A connected WebSocket keeps no copy of its handshake request's headers but the few values we read."""

from __future__ import annotations

import gc

from tests.integration.harness import Server


def _full_environs() -> list[dict[str, object]]:
    """The engine's WSGI-style environ dicts still alive (every header under an HTTP_ key, the request).

    Collected first: the scan sees the whole process, and an earlier test's unreachable cycles are not kept."""
    gc.collect()
    return [o for o in gc.get_objects() if type(o) is dict and "aiohttp.request" in o and "HTTP_UPGRADE" in o]


async def test_the_handshake_environ_is_not_kept_for_the_connection_life(server: Server) -> None:
    session = await server.session()
    headers = {"User-Agent": "environ-test", "X-Filler": "x" * 200}
    clients = [await server.client(session, headers=headers) for _ in range(3)]
    try:
        assert _full_environs() == []
        sio = server.container.sio()
        kept = [sio.environ[eio_sid] for eio_sid in list(sio.environ)]
        assert len(kept) == 3
        for environ in kept:  # what the gateway and recovery read later is still there
            assert environ["HTTP_USER_AGENT"] == "environ-test" and environ["REMOTE_ADDR"] == "127.0.0.1"
            assert "HTTP_X_FILLER" not in environ
        reply = await clients[0].call("request_caption_status", {})
        assert reply["user_id"] == session.user_id
    finally:
        for client in clients:
            await client.close()
