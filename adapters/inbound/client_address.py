"""Who a request came from and over what: the peer, or X-Forwarded-* when the peer is a trusted proxy."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable

log = logging.getLogger("vedfolnir.proxies")

_warned = [False]  # once per process: the warning is about the deployment, not about a request


class ClientAddress:
    def __init__(self, trusted_proxies: Iterable[str] = ()) -> None:
        self._trusted = [ipaddress.ip_network(p, strict=False) for p in trusted_proxies if p]

    def client_ip(self, peer: str | None, forwarded_for: str | None) -> str:
        """The client's IP: X-Forwarded-For walked right to left past trusted proxies, else the peer."""
        peer = peer or "unknown"
        if forwarded_for:
            if self._trusted and _in(peer, self._trusted):
                for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
                    if not _in(hop, self._trusted):
                        return hop
            else:
                self._warn_untrusted(peer)
        return peer

    def over_tls(self, secure: bool, peer: str | None, forwarded_proto: str | None) -> bool:
        """Whether the browser's request came over TLS: directly, or to a trusted proxy that says so."""
        if secure:
            return True
        if not forwarded_proto or not self._trusted or not _in(peer or "", self._trusted):
            return False
        return forwarded_proto.split(",")[0].strip().lower() == "https"

    def _warn_untrusted(self, peer: str) -> None:
        if _warned[0]:
            return
        _warned[0] = True
        log.warning(
            "X-FORWARDED-FOR FROM AN UNTRUSTED PEER (%s): it is ignored, so every client behind that proxy shares "
            "one IP for the per-IP limits (connect attempts, handshakes) and one client can lock all out. If %s is "
            "your load balancer or reverse proxy, set TRUSTED_PROXIES to its address or network.",
            peer,
            peer,
        )


def _in(address: str, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)
