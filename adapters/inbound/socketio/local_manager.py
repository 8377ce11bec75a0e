"""Delivering an event to this node's sockets: encoded once, queued to each socket, no task per recipient."""

from __future__ import annotations

from typing import Any

import orjson
import socketio  # type: ignore[import-untyped]
from engineio import packet as eio_packet  # type: ignore[import-untyped]
from socketio import packet as sio_packet


def encode_event(manager: socketio.AsyncManager, namespace: str, event: str, args: list[Any]) -> list[Any]:
    """The Engine.IO packets of one Socket.IO EVENT (no ack id), built once for every recipient."""
    try:
        body = orjson.dumps([event, *args]).decode()
    except TypeError:  # binary attachments or types orjson refuses: the library's own encoder
        encoded = manager.server.packet_class(sio_packet.EVENT, namespace=namespace, data=[event, *args]).encode()
        return [eio_packet.Packet(eio_packet.MESSAGE, p) for p in (encoded if isinstance(encoded, list) else [encoded])]
    prefix = "2" if namespace == "/" else f"2{namespace},"
    return [eio_packet.Packet(eio_packet.MESSAGE, prefix + body)]


async def deliver_locally(
    manager: socketio.AsyncManager,
    event: str,
    data: Any,
    namespace: str | None,
    room: str | list[str] | None,
    skip_sid: str | list[str] | None,
) -> None:
    """What AsyncManager.emit does without a callback, minus its task, ping check and log call per recipient.

    Each socket's queue is unbounded, so putting never blocks and keeps the order of everything sent
    to that socket (the socket's own ping loop still closes sockets that stopped answering).
    """
    namespace = namespace or "/"
    if namespace not in manager.rooms:  # also true of a write-only manager, which has no server
        return
    args = list(data) if isinstance(data, tuple) else ([] if data is None else [data])
    packets = encode_event(manager, namespace, event, args)
    skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
    sockets = manager.server.eio.sockets
    # One packet (every event of our API): written straight to each idle WebSocket (QuickPollSocket.send_now).
    text = packets[0].encode() if len(packets) == 1 else None
    delivered = closed = 0
    for sid, eio_sid in manager.get_participants(namespace, room):
        if sid in skip:
            continue
        sock = sockets.get(eio_sid)
        if sock is None or sock.closed:
            closed += 1
            continue
        delivered += 1
        if text is not None:
            send_now = getattr(sock, "send_now", None)
            if send_now is not None and send_now(text):
                continue
        for pkt in packets:
            sock.queue.put_nowait(pkt)
    metrics = getattr(manager, "metrics", None)  # set by bootstrap: adapters.observability.metrics.Metrics
    if metrics is not None:
        metrics.delivered(namespace, delivered)
        if closed:
            metrics.dropped("closed_socket", closed)


class DirectManager(socketio.AsyncManager):  # type: ignore[misc]
    """The single-node client manager, delivering through `deliver_locally`."""

    async def emit(self, event, data, namespace, room=None, skip_sid=None, callback=None, to=None, **kwargs):  # type: ignore[no-untyped-def]
        if callback is not None:
            return await super().emit(event, data, namespace, room, skip_sid, callback, to, **kwargs)
        await deliver_locally(self, event, data, namespace, to or room, skip_sid)
        return None
