"""Stamps a payload with the injected clock's time and a fresh message id: the one stamper of every adapter."""

from __future__ import annotations

from typing import Any

from application.ports import Clock, TokenSource
from domain import messages
from domain.messages import Payload


class Stamp:
    def __init__(self, clock: Clock, tokens: TokenSource) -> None:
        self._clock = clock
        self._tokens = tokens

    def __call__(self, payload: Payload, correlation_id: Any = None) -> Payload:
        return messages.stamp(payload, self._clock.now(), self._tokens.message_id(), correlation_id)
