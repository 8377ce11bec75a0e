"""Health of the outside services a caption job needs: the Ollama server and the connected platform instances."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from yarl import URL

from domain.health import ComponentHealth, Health

log = logging.getLogger("vedfolnir.health")


class OllamaHealthProbe:
    """Healthy if Ollama answers and lists the model, degraded if the model is missing, unhealthy if unreachable."""

    component = "ollama"

    def __init__(self, http: aiohttp.ClientSession | None, base_url: str, model: str, timeout: float = 3.0) -> None:
        self._http = http
        self._owns_http = http is None
        self._base = URL(base_url.rstrip("/"))
        self._model = model
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def close(self) -> None:
        if self._owns_http and self._http is not None:
            await self._http.close()
            self._http = None

    async def check(self) -> ComponentHealth:
        metrics: dict[str, Any] = {"version": None, "model": self._model, "model_present": False, "latency_ms": None}
        started = time.perf_counter()
        # a probe reports every failure, it never raises
        answers = await asyncio.gather(self._get("api/version"), self._get("api/tags"), return_exceptions=True)
        failures = [answer for answer in answers if isinstance(answer, BaseException)]
        if failures:
            detail = f"Ollama at {self._base} is unreachable: {_describe(failures[0])}"
            return ComponentHealth(self.component, Health.UNHEALTHY, detail, metrics)
        version, tags = (answer for answer in answers if not isinstance(answer, BaseException))
        metrics["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
        metrics["version"] = version.get("version")
        models = tags.get("models")
        names = {_model_name(m.get("name") or m.get("model")) for m in models or [] if isinstance(m, dict)}
        metrics["model_present"] = _model_name(self._model) in names
        if not metrics["model_present"]:
            detail = f"Ollama is up but has no model {self._model!r}; pull it (ollama pull {self._model})"
            return ComponentHealth(self.component, Health.DEGRADED, detail, metrics)
        return ComponentHealth(self.component, Health.HEALTHY, metrics=metrics)

    async def _get(self, path: str) -> dict[str, Any]:
        if self._http is None:
            self._http = aiohttp.ClientSession()
        async with self._http.get(self._base / path, timeout=self._timeout) as resp:
            resp.raise_for_status()
            body = await resp.json(content_type=None)
        return body if isinstance(body, dict) else {}


class PlatformApisHealthProbe:
    """Asks every distinct connected instance for /api/v1/instance: all answer, some do, or none does.

    `on_checked`, if given, receives each round's {instance URL: answered} (the platform statuses
    users see follow it); its failures are logged, never the probe's.
    """

    component = "platform_apis"

    def __init__(
        self,
        http: aiohttp.ClientSession | None,
        instances: Callable[[], Awaitable[list[str]]],
        timeout: float = 5.0,
        concurrency: int = 10,
        on_checked: Callable[[dict[str, bool]], Awaitable[None]] | None = None,
    ) -> None:
        self._on_checked = on_checked
        self._http = http
        self._owns_http = http is None
        self._instances = instances
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._concurrency = concurrency

    async def close(self) -> None:
        if self._owns_http and self._http is not None:
            await self._http.close()
            self._http = None

    async def check(self) -> ComponentHealth:
        try:
            urls = sorted({url.strip().rstrip("/") for url in await self._instances() if url.strip()})
        except Exception as exc:  # a probe reports every failure, it never raises
            detail = f"Could not list the connected instances: {_describe(exc)}"
            return ComponentHealth(self.component, Health.DEGRADED, detail)
        if self._http is None:
            self._http = aiohttp.ClientSession()
        gate = asyncio.Semaphore(self._concurrency)
        latencies = await asyncio.gather(*(self._ping(self._http, gate, url) for url in urls))
        reachable = {url: ms for url, ms in zip(urls, latencies, strict=True) if ms is not None}
        unreachable = [url for url in urls if url not in reachable]
        if self._on_checked is not None:
            try:
                await self._on_checked({url: url in reachable for url in urls})
            except Exception:
                log.exception("acting on the platform reachability failed")
        metrics: dict[str, Any] = {
            "instances": len(urls),
            "reachable": len(reachable),
            "unreachable": unreachable,
            "latency_ms": reachable,
        }
        if not unreachable:
            return ComponentHealth(self.component, Health.HEALTHY, metrics=metrics)
        status = Health.UNHEALTHY if not reachable else Health.DEGRADED
        detail = f"{len(unreachable)} of {len(urls)} instances unreachable: {', '.join(unreachable[:5])}"
        return ComponentHealth(self.component, status, detail, metrics)

    async def _ping(self, http: aiohttp.ClientSession, gate: asyncio.Semaphore, instance: str) -> float | None:
        """Milliseconds for a 200 from the instance, or None if it gave none."""
        async with gate:
            started = time.perf_counter()
            try:
                async with http.get(URL(instance) / "api/v1/instance", timeout=self._timeout) as resp:
                    if resp.status != 200:
                        return None
                    await resp.read()
            except Exception:  # any failure just marks the instance unreachable
                return None
            return round((time.perf_counter() - started) * 1000, 2)


def _model_name(name: Any) -> str:
    text = str(name or "")
    return text.removesuffix(":latest")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    first_line = next(iter(str(exc).splitlines()), "")[:200]
    return f"{type(exc).__name__}: {first_line}".rstrip(": ")
