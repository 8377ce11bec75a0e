"""Testing and development commands of the console script: `test connection`, `test cors` and `monitor`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time
from typing import Any

import aiohttp
import socketio

COMMANDS = frozenset({"test", "monitor"})

CONNECTED, REFUSED, UNREACHABLE, DROPPED = 0, 2, 3, 1


def add_commands(subparsers: Any) -> None:
    """Adds `test connection`, `test cors` and `monitor` to the console script's subcommands."""
    test = subparsers.add_parser("test", help="check a running server from outside, as a client would")
    tests = test.add_subparsers(dest="action", required=True)

    connection = tests.add_parser(
        "connection", help="open one Socket.IO connection; exit 0 connected, 2 refused (payload printed), 3 unreachable"
    )
    _target(connection)
    connection.add_argument(
        "--session-id",
        help="sent as auth.session_id: our session id, or with SESSION_SOURCE=flask the Flask `session` cookie's "
        "value (no session: expect auth_required)",
    )
    connection.add_argument("--csrf-token", help="sent as auth.csrf_token")
    connection.add_argument("--transport", choices=["websocket", "polling"], default="websocket")

    cors = tests.add_parser(
        "cors", help="an Engine.IO polling handshake with an Origin header; exit 0 accepted, 2 refused, 3 unreachable"
    )
    cors.add_argument("--url", help="server URL (default: http://FLASK_HOST:FLASK_PORT)")
    cors.add_argument("--origin", required=True, help="e.g. https://vedfolnir.example.org")
    cors.add_argument("--timeout", type=float, default=10.0, help="seconds (default 10)")

    monitor = subparsers.add_parser(
        "monitor", help="print every event a session's connection receives, one JSON line each"
    )
    _target(monitor)
    monitor.add_argument(
        "--session-id", help="our session id, or with SESSION_SOURCE=flask the Flask `session` cookie's value"
    )
    monitor.add_argument("--csrf-token", help="sent as auth.csrf_token (not needed to listen)")
    monitor.add_argument("--room", action="append", default=[], help="also join this room (repeatable)")
    monitor.add_argument("--seconds", type=float, help="stop after this many seconds (default: until disconnected)")


def _target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", help="server URL (default: http://FLASK_HOST:FLASK_PORT)")
    parser.add_argument("--namespace", default="/", choices=["/", "/admin"])
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the connection (default 10)")


async def run(args: argparse.Namespace, settings: Any) -> int:
    """Runs one of these commands; returns the exit code."""
    url = (args.url or f"http://{settings.flask_host}:{settings.flask_port}").rstrip("/")
    if args.command == "monitor":
        return await monitor(url, args)
    if args.action == "cors":
        return await check_cors(url, args.origin, args.timeout)
    return await check_connection(url, args)


def _say(payload: dict[str, Any]) -> None:
    print(json.dumps(payload, default=str), flush=True)


def _auth(args: argparse.Namespace) -> dict[str, str] | None:
    auth = {"session_id": args.session_id, "csrf_token": args.csrf_token}
    return {k: v for k, v in auth.items() if v} or None


REFUSAL_EVENTS = frozenset({"auth_required", "auth_error", "error"})


async def _open(
    url: str,
    args: argparse.Namespace,
    transports: list[str],
    client: socketio.AsyncClient,
    on_event: Any = None,
    on_disconnect: Any = None,
) -> dict[str, Any] | None:
    """Connects `client`; returns None when connected, else the outcome to print (with its exit code).

    A refusal comes either as CONNECT_ERROR (REFUSAL_MODE=connect_error, and limits at the door) or as
    an event on an accepted connection followed by a server disconnect (REFUSAL_MODE=event). To tell an
    accepted connection from one that is about to hear its refusal, one request is sent: an accepted
    connection answers it, a refused one is disconnected instead. Events that arrive meanwhile are
    handed to `on_event` once the connection is known to be accepted.
    """
    refusal: list[Any] = []
    early: list[tuple[str, tuple[Any, ...]]] = []
    gone = asyncio.Event()
    accepted = False

    async def on_connect_error(data: Any = None) -> None:
        refusal.append(data)

    async def on_any(event: str, *data: Any) -> None:
        if not accepted:
            early.append((event, data))
        elif on_event is not None:
            await on_event(event, *data)

    async def on_gone(reason: Any = None) -> None:
        gone.set()
        if accepted and on_disconnect is not None:
            await on_disconnect(reason)

    client.on("connect_error", on_connect_error, namespace=args.namespace)
    client.on("*", on_any, namespace=args.namespace)
    client.on("disconnect", on_gone, namespace=args.namespace)
    try:
        await client.connect(
            url,
            namespaces=[args.namespace],
            auth=_auth(args),
            transports=transports,
            wait_timeout=args.timeout,
        )
    except socketio.exceptions.ConnectionError as err:
        await _close(client)
        # The server's refusal is a {message, data} dict; a transport failure is a bare string.
        served = [data for data in refusal if isinstance(data, dict)]
        if served:
            payload = served[0].get("data", served[0])
            return {
                "code": REFUSED,
                "connected": False,
                "refused": payload,
                "message": served[0].get("message"),
                "delivered_as": "connect_error",
            }
        return {"code": UNREACHABLE, "connected": False, "unreachable": str(err) or type(err).__name__}
    probe = asyncio.ensure_future(
        client.call("request_caption_status", {}, namespace=args.namespace, timeout=args.timeout)
    )
    ended = asyncio.ensure_future(gone.wait())
    await asyncio.wait({probe, ended}, timeout=args.timeout, return_when=asyncio.FIRST_COMPLETED)
    answered = probe.done() and not probe.cancelled() and probe.exception() is None
    probe.cancel()
    ended.cancel()
    if not answered:
        await _close(client)
        served_events = [(name, data[0]) for name, data in early if name in REFUSAL_EVENTS and data]
        if served_events:
            name, payload = served_events[0]
            return {
                "code": REFUSED,
                "connected": False,
                "refused": payload,
                "message": payload.get("message") if isinstance(payload, dict) else None,
                "delivered_as": name,
            }
        return {"code": UNREACHABLE, "connected": False, "unreachable": "CONNECTION_TIMEOUT: no answer in time"}
    accepted = True
    if on_event is not None:
        for name, data in early:
            await on_event(name, *data)
    return None


async def _close(client: socketio.AsyncClient) -> None:
    try:
        await asyncio.wait_for(client.disconnect(), 3)
    except Exception:
        with contextlib.suppress(Exception):
            await client.eio.disconnect(abort=True)


async def check_connection(url: str, args: argparse.Namespace) -> int:
    client = socketio.AsyncClient(reconnection=False, logger=False, engineio_logger=False)
    outcome = await _open(url, args, [args.transport], client)
    if outcome is not None:
        code = int(outcome.pop("code"))
        _say({"url": url, "namespace": args.namespace, **outcome})
        return code
    _say(
        {
            "url": url,
            "namespace": args.namespace,
            "connected": True,
            "sid": client.get_sid(args.namespace),
            "transport": client.transport(),
        }
    )
    await _close(client)
    return CONNECTED


async def monitor(url: str, args: argparse.Namespace) -> int:
    client = socketio.AsyncClient(reconnection=False, logger=False, engineio_logger=False)
    ended, stopped = asyncio.Event(), asyncio.Event()
    reason: list[str] = []

    async def on_event(event: str, *data: Any) -> None:
        line: dict[str, Any] = {
            "event": event,
            "namespace": args.namespace,
            "received_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        if len(data) > 1 and isinstance(data[-1], str):  # a replayable event's recovery offset
            line["offset"], data = data[-1], data[:-1]
        line["data"] = data[0] if len(data) == 1 else list(data)
        _say(line)

    async def on_disconnect(why: Any = None) -> None:
        reason.append(str(why))
        ended.set()

    outcome = await _open(url, args, ["websocket"], client, on_event, on_disconnect)
    if outcome is not None:
        code = int(outcome.pop("code"))
        _say({"url": url, "namespace": args.namespace, **outcome})
        return code
    print(f"monitor: connected to {url} namespace {args.namespace}", file=sys.stderr, flush=True)
    for room in args.room:
        reply = await client.call("join_room", {"room_name": room}, namespace=args.namespace, timeout=args.timeout)
        print(f"monitor: join_room {room}: {json.dumps(reply)}", file=sys.stderr, flush=True)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopped.set)
    waits = [asyncio.ensure_future(ended.wait()), asyncio.ensure_future(stopped.wait())]
    await asyncio.wait(waits, timeout=args.seconds, return_when=asyncio.FIRST_COMPLETED)
    for waiting in waits:
        waiting.cancel()
    if ended.is_set():
        print(f"monitor: disconnected ({reason[0] if reason else 'unknown'})", file=sys.stderr, flush=True)
        return DROPPED
    await _close(client)
    print("monitor: stopped" if stopped.is_set() else f"monitor: stopped after {args.seconds:g} s", file=sys.stderr)
    return CONNECTED


async def check_cors(url: str, origin: str, seconds: float) -> int:
    """What a browser page of `origin` gets from the first request of every Socket.IO connection."""
    handshake = f"{url}/socket.io/?EIO=4&transport=polling&t={int(time.time() * 1000)}"
    headers = {"Origin": origin}
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=seconds)) as http,
            http.get(handshake, headers=headers) as answer,
        ):
            body = await answer.text()
            allow = answer.headers.get("Access-Control-Allow-Origin")
            credentials = answer.headers.get("Access-Control-Allow-Credentials")
            accepted = answer.status == 200 and body.startswith("0") and allow in (origin, "*")
            if answer.status == 200 and body.startswith("0{"):
                await _close_engine_session(http, url, body, headers)
    except (aiohttp.ClientError, TimeoutError) as err:
        _say({"url": url, "origin": origin, "unreachable": str(err) or type(err).__name__})
        return UNREACHABLE
    result: dict[str, Any] = {
        "url": url,
        "origin": origin,
        "accepted": accepted,
        "status": answer.status,
        "access_control_allow_origin": allow,
        "access_control_allow_credentials": credentials,
    }
    if accepted and (allow == "*" or credentials != "true"):
        # A page's cookie (withCredentials) needs the exact origin and "true"; a browser refuses "*".
        result["warning"] = "CORS_CREDENTIALS_ERROR: browsers will not send or accept cookies with this answer"
    if not accepted:
        with contextlib.suppress(ValueError):
            result["refusal"] = json.loads(body)
    _say(result)
    print(f"origin {origin} {'ACCEPTED' if accepted else 'REFUSED'} by {url}", file=sys.stderr)
    return CONNECTED if accepted else REFUSED


async def _close_engine_session(http: aiohttp.ClientSession, url: str, body: str, headers: dict[str, str]) -> None:
    """Ends the handshake's Engine.IO session at once (packet "1": close) instead of letting it time out."""
    with contextlib.suppress(Exception):
        sid = json.loads(body[1:])["sid"]
        async with http.post(f"{url}/socket.io/?EIO=4&transport=polling&sid={sid}", data="1", headers=headers):
            pass
