"""Bare python-socketio on aiohttp with default settings: the baseline every target is measured against."""

from __future__ import annotations

import argparse
from typing import Any

import socketio
from aiohttp import web
from common import BACKLOG, BROADCAST_EVENT, BROADCAST_ROOM, HOST, add_bench_routes, raise_nofile


def build(join_broadcast_room: bool, profile_path: str | None) -> web.Application:
    sio = socketio.AsyncServer(async_mode="aiohttp")  # default settings, default AsyncManager
    app = web.Application()
    sio.attach(app)

    @sio.event
    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
        if join_broadcast_room:
            await sio.enter_room(sid, BROADCAST_ROOM)
        return True

    @sio.on("echo")
    async def echo(sid: str, data: Any) -> Any:
        await sio.emit("echo", data, to=sid)
        return data  # the ack, when the client asked for one (like ours: a reply event and the ack)

    async def broadcast(data: dict[str, Any]) -> None:
        await sio.emit(BROADCAST_EVENT, data, to=BROADCAST_ROOM)

    add_bench_routes(app, broadcast, profile_path)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--broadcast-room", action="store_true", help="the connect handler enters the broadcast room")
    parser.add_argument("--profile", help="write cProfile stats of the measured phase here")
    args = parser.parse_args()
    raise_nofile()
    web.run_app(
        build(args.broadcast_room, args.profile),
        host=HOST,
        port=args.port,
        print=None,
        access_log=None,
        backlog=BACKLOG,
    )


if __name__ == "__main__":
    main()
