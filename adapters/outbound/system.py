"""The real clock, token source and process metrics (psutil) behind their ports."""

from __future__ import annotations

import itertools
import os
import secrets
import time

import psutil

from application.ports import ServerMetrics


class SystemClock:
    def now(self) -> float:
        return time.time()


class SecureTokens:
    """Message ids are unique per process (random prefix + counter); secrets are 256-bit.

    Secrets are hex: a URL-safe base64 token may start with '-', which command lines read as an option.
    """

    def __init__(self) -> None:
        self._prefix = secrets.token_hex(6)
        self._counter = itertools.count(1)

    def message_id(self) -> str:
        return f"{self._prefix}{next(self._counter):x}"

    def secret(self) -> str:
        return secrets.token_hex(32)


class ProcessProbe:
    def __init__(self) -> None:
        self._process = psutil.Process(os.getpid())
        self._process.cpu_percent(None)  # the first reading is always 0.0; prime it

    def sample(self) -> ServerMetrics:
        return ServerMetrics(memory_bytes=self._process.memory_info().rss, cpu_percent=self._process.cpu_percent(None))
