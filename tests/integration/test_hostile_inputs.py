"""Findings 6 and 7 against a real server process: what the size check cannot measure is refused, and request
bodies that arrive in several TCP segments are read whole."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp

from tests.integration.hostile import API_TOKEN, ServerProcess, server_process
from tests.integration.rawio import RawSocket

POLLING = "/socket.io/?EIO=4&transport=polling"


async def test_deeply_nested_data_is_refused_as_too_large(tmp_path: Path) -> None:
    """30 KB nested deeper than orjson's 254 levels: the size check used to measure it as 0 bytes."""
    nested: object = "x" * 100
    for _ in range(300):
        nested = ["x" * 100, nested]
    async with server_process(tmp_path) as server:
        session = await server.session("demo")
        raw = await RawSocket.open(server.url)
        try:
            await raw.connect({"session_id": session.id, "csrf_token": session.csrf_token})
            await raw.send("421" + json.dumps(["request_caption_status", {"padding": nested}]))
            answer = await raw.expect(lambda m: m.startswith("431"))
        finally:
            await raw.close()
    assert json.loads(answer[3:])[0]["error_code"] == "MESSAGE_TOO_LARGE"


async def _split_request(server: ServerProcess, head: str, body: bytes) -> bytes:
    """One HTTP/1.1 request whose body goes in two writes, the second after the first has been sent."""
    host, port = server.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(f"{head}\r\nHost: {host}:{port}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body[:7])
        await writer.drain()
        await asyncio.sleep(0.1)  # the attack's shape: the rest arrives as a later TCP segment
        writer.write(body[7:])
        await writer.drain()
        return await asyncio.wait_for(reader.read(65536), 5)
    finally:
        writer.close()


async def test_a_polling_post_split_over_two_segments_is_read_whole(tmp_path: Path) -> None:
    async with server_process(tmp_path) as server:
        session = await server.session("demo")
        async with aiohttp.ClientSession() as http:
            async with http.get(server.url + POLLING) as opened:
                sid = json.loads((await opened.text())[1:])["sid"]
            auth = json.dumps({"session_id": session.id, "csrf_token": session.csrf_token})
            async with http.post(f"{server.url}{POLLING}&sid={sid}", data=("40" + auth).encode()) as posted:
                assert posted.status == 200
            async with http.get(f"{server.url}{POLLING}&sid={sid}") as polled:
                assert (await polled.text()).startswith("40{")
            answer = await _split_request(
                server, f"POST {POLLING}&sid={sid} HTTP/1.1", b'421["request_caption_status",{}]'
            )
            assert answer.startswith(b"HTTP/1.1 200"), answer
            async with http.get(f"{server.url}{POLLING}&sid={sid}") as polled:
                text = await polled.text()
    assert "caption_status_response" in text or text.startswith("431"), text
    assert "malformed_packet" not in server.log()


async def test_an_api_body_split_over_two_segments_is_read_whole(tmp_path: Path) -> None:
    async with server_process(tmp_path) as server:
        head = f"POST /api/v1/sessions HTTP/1.1\r\nAuthorization: Bearer {API_TOKEN}\r\nContent-Type: application/json"
        answer = await _split_request(server, head, b'{"username": "demo"}')
    assert answer.startswith(b"HTTP/1.1 201"), answer
