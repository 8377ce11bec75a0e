"""Delivery to this node's sockets without a task per recipient: the packet is encoded once and queued to each in turn."""

from __future__ import annotations

import logging
from typing import Any

import socketio  # type: ignore[import-untyped]
from engineio import packet as eio_packet  # type: ignore[import-untyped]
from socketio import packet as sio_packet

log = logging.getLogger("vedfolnir.socket")


async def deliver_locally(
    manager: socketio.AsyncManager,
    event: str,
    data: Any,
    namespace: str | None,
    room: str | list[str] | None,
    skip_sid: str | list[str] | None,
) -> None:
    """What AsyncManager.emit does without a callback, minus its task per recipient.

    Queueing never blocks (each socket's queue is unbounded), so awaiting each put keeps order and
    costs a fraction of creating and gathering a task per recipient.
    """
    namespace = namespace or "/"
    if namespace not in manager.rooms:  # also true of a write-only manager, which has no server
        return
    args = list(data) if isinstance(data, tuple) else ([] if data is None else [data])
    encoded = manager.server.packet_class(sio_packet.EVENT, namespace=namespace, data=[event, *args]).encode()
    packets = [eio_packet.Packet(eio_packet.MESSAGE, p) for p in (encoded if isinstance(encoded, list) else [encoded])]
    skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
    eio = manager.server.eio
    for sid, eio_sid in manager.get_participants(namespace, room):
        if sid in skip:
            continue
        for pkt in packets:
            try:
                await eio.send_packet(eio_sid, pkt)
            except Exception:  # a socket closing meanwhile must not stop delivery to the others
                log.debug("delivery to %s skipped", sid)
