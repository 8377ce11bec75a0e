"""Finding 5 against a real server process: two users on one Engine.IO connection cannot leak a slot."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.hostile import Session, server_process
from tests.integration.rawio import RawSocket


async def test_a_second_identity_on_one_connection_is_refused_and_no_slot_leaks(tmp_path: Path) -> None:
    # A short back-off cap: the refusals' growing delay (tested in test_refusals.py) is not what this shows.
    async with server_process(tmp_path, refusal_backoff_max_seconds=0.1) as server:
        admin = await server.session("admin")
        demo = await server.session("demo")
        for round_ in range(7):  # more rounds than MAX_CONNECTIONS_PER_USER (5)
            first, second = ((admin, "/admin"), (demo, "/")) if round_ % 2 == 0 else ((demo, "/"), (admin, "/admin"))
            raw = await RawSocket.open(server.url)
            try:
                answer = await raw.connect({"session_id": first[0].id, "csrf_token": first[0].csrf_token}, first[1])
                assert answer.startswith("40"), answer
                await raw.send("40" + ("" if second[1] == "/" else second[1] + ",") + _auth(second[0]))
                refused = await raw.expect(lambda m: "CONNECTION_REFUSED" in m or "CONNECTION_LIMIT" in m)
                assert "CONNECTION_REFUSED" in refused, refused
            finally:
                await raw.close()
        # Every slot came back: both users still connect.
        for session, namespace in ((admin, "/admin"), (demo, "/")):
            client = await server.client(session, namespace)
            await client.close()
        log = server.log()
    assert log.count("security event second_identity") == 7


def _auth(session: Session) -> str:
    return json.dumps({"session_id": session.id, "csrf_token": session.csrf_token})
