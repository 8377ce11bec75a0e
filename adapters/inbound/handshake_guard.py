"""Engine.IO handshakes per client IP, counted before any engine work (fleet-wide when the limiter is Redis)."""

from __future__ import annotations

import logging

from aiohttp import web

from adapters.inbound.client_address import ClientAddress
from application.ports import Clock, RateLimitStore
from application.security import SecurityEvents
from application.stamping import Stamp
from domain import events, messages
from domain.errors import DomainError, ErrorCode
from domain.rate_limit import RateRule

log = logging.getLogger("vedfolnir.socket")


def handshake_key(ip: str) -> str:
    return f"handshake:ip:{ip}"


class HandshakeGuard:
    """Refuses a new Engine.IO session (no `sid` in the query) past the per-IP budget with 429."""

    def __init__(
        self,
        rates: RateLimitStore,
        rule: RateRule,
        address: ClientAddress,
        clock: Clock,
        security: SecurityEvents | None,
        stamp: Stamp,
    ) -> None:
        self._stamp = stamp
        self._rates = rates
        self._rule = rule
        self._address = address
        self._clock = clock
        self._security = security

    async def refusal(self, request: web.BaseRequest) -> web.Response | None:
        ip = self._address.client_ip(request.remote, request.headers.get("X-Forwarded-For"))
        decision = await self._rates.hit(handshake_key(ip), self._rule, self._clock.now())
        if decision.allowed:
            return None
        if self._security is not None:
            self._security.record("handshake_rate_limited", ip=ip)
        err = DomainError(
            ErrorCode.RATE_LIMIT_EXCEEDED,
            "Too many connection handshakes from this address",
            limit=decision.limit,
            remaining=decision.remaining,
            reset_time=messages.iso_utc(decision.reset_at),
        )
        payload = self._stamp(messages.error(err, "handshake", None))
        retry_after = max(1, int(decision.reset_at - self._clock.now() + 0.999))
        return web.json_response(
            {"event": events.ERROR, "data": payload}, status=429, headers={"Retry-After": str(retry_after)}
        )
