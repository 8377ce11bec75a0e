"""The Socket.IO packet decoder (python-socketio's `serializer=` seam): refuses what we never accept, at decode."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from socketio import packet as sio_packet

# The name a client's EVENT gets when its own name may not reach a handler ("connect", "disconnect", "*", a
# non-string, no name at all): our catch-all answers it as an invalid event name.
INVALID_EVENT_NAME = "\u0000invalid-event-name"

# Whether the event being handled asked for an ack. Set at decode, read by the gateway in the same task
# (handlers run inline: async_handlers=False, so nothing runs between the decode and the handler).
ACK_WANTED: ContextVar[bool] = ContextVar("ack_wanted", default=True)

RESERVED_EVENT_NAMES = frozenset({"connect", "disconnect", "*"})
ACCEPTED_TYPES = frozenset({sio_packet.CONNECT, sio_packet.DISCONNECT, sio_packet.EVENT, sio_packet.ACK})


class RefusedPacket(Exception):
    """A packet the server will not dispatch; the server's message handler counts and answers it.

    kind: "binary_refused" or "malformed_packet"; undecodable: the text did not decode at all.
    """

    def __init__(self, kind: str, namespace: str | None = None, *, undecodable: bool = False) -> None:
        super().__init__(kind)
        self.kind = kind
        self.namespace = namespace
        self.undecodable = undecodable


class GuardedPacket(sio_packet.Packet):  # type: ignore[misc]
    """python-socketio's packet, decoding only what this API accepts.

    - Binary packets (BINARY_EVENT/BINARY_ACK, and any binary frame) are refused before the server would
      buffer their attachments: no event of the API carries binary data.
    - CONNECT_ERROR and unknown types from a client, and text that does not decode, are refused instead of
      raising inside the engine's message handler.
    - An EVENT named "connect"/"disconnect"/"*" or with no string name is renamed INVALID_EVENT_NAME, so it
      reaches the catch-all handler, never the connect/disconnect handlers with client-made arguments.
    """

    def decode(self, encoded_packet: Any) -> int:
        if not isinstance(encoded_packet, str):
            raise RefusedPacket("binary_refused")
        try:
            attachments: int = super().decode(encoded_packet)
        except Exception:
            raise RefusedPacket("malformed_packet", undecodable=True) from None
        kind = self.packet_type
        if kind in (sio_packet.BINARY_EVENT, sio_packet.BINARY_ACK):
            raise RefusedPacket("binary_refused", self.namespace or "/")
        if kind not in ACCEPTED_TYPES:
            raise RefusedPacket("malformed_packet", self.namespace)
        if kind == sio_packet.EVENT:
            data: Any = getattr(self, "data", None)
            if not isinstance(data, list) or not data:
                self.data = [INVALID_EVENT_NAME]
            elif not isinstance(data[0], str) or data[0] in RESERVED_EVENT_NAMES:
                self.data = [INVALID_EVENT_NAME, *data[1:]]
            ACK_WANTED.set(self.id is not None)
        return attachments
