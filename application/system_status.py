"""The periodic admin feed: socket-server metrics and component health, with alerts on every change."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from application.connections import ConnectionRegistry
from application.notifications import RaiseAdminAlert
from application.outbox import Outbox
from application.ports import HealthProbe, SystemProbe
from application.security import SecurityEvents
from domain import events, messages
from domain.health import ComponentHealth, Health, HealthTracker

log = logging.getLogger("vedfolnir.status")


class PublishSystemStatus:
    def __init__(
        self,
        registry: ConnectionRegistry,
        system: SystemProbe,
        probes: Sequence[HealthProbe],
        outbox: Outbox,
        alerts: RaiseAdminAlert,
        security: SecurityEvents,
    ) -> None:
        self._security = security
        self._registry = registry
        self._system = system
        self._probes = probes
        self._outbox = outbox
        self._alerts = alerts
        self._tracker = HealthTracker()

    async def __call__(self) -> list[ComponentHealth]:
        reports = [self._socket_server()]
        for probe in self._probes:
            try:
                reports.append(await probe.check())
            except Exception as exc:  # a probe that breaks is itself a finding
                log.warning("health probe %s failed: %s", probe.component, exc)
                reports.append(
                    ComponentHealth(probe.component, Health.UNHEALTHY, f"Probe failed: {type(exc).__name__}")
                )
        for report in reports:
            await self._outbox.to_admins(
                events.SYSTEM_STATUS_UPDATE,
                messages.system_status(report.component, report.status.value, report.metrics),
            )
            alert = self._tracker.observe(report)
            if alert is not None:
                await self._alerts.raise_checked(alert)
        return reports

    def _socket_server(self) -> ComponentHealth:
        sample = self._system.sample()
        metrics = {
            "active_connections": len(self._registry),
            "total_connections": self._registry.total_connections,
            "active_users": len(self._registry.user_ids()),
            "memory_usage": f"{sample.memory_bytes // (1024 * 1024)}MB",
            "cpu_usage": f"{sample.cpu_percent:.0f}%",
            "security_events": self._security.summary(),
        }
        return ComponentHealth("websocket_server", Health.HEALTHY, metrics=metrics)
