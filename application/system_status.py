"""The periodic admin feed: socket-server metrics and component health, with alerts on every change."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from application.connections import ConnectionRegistry
from application.notifications import RaiseAdminAlert
from application.outbox import Outbox
from application.ports import FleetTotals, FleetView, HealthProbe, SystemProbe
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
        fleet: FleetView,
        node_id: str,
    ) -> None:
        self._security = security
        self._fleet = fleet
        self._node_id = node_id
        self._registry = registry
        self._system = system
        self._probes = probes
        self._outbox = outbox
        self._alerts = alerts
        self._tracker = HealthTracker()

    async def __call__(self) -> list[ComponentHealth]:
        reports = [await self._socket_server()]
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

    async def _socket_server(self) -> ComponentHealth:
        sample = self._system.sample()
        try:
            await self._fleet.report(self._node_id, len(self._registry), self._registry.total_connections)
            fleet = await self._fleet.totals()
        except Exception as exc:  # the fleet view lives in Redis; while it is gone, admins see this node alone
            log.warning("fleet view unavailable (%s); reporting this node only", type(exc).__name__)
            fleet = FleetTotals(len(self._registry), self._registry.total_connections, 0)
        metrics = {
            "active_connections": fleet.active_connections,
            "total_connections": fleet.total_connections,
            "nodes_reporting": fleet.nodes,
            "node_id": self._node_id,
            "node_active_connections": len(self._registry),
            "active_users": len(self._registry.user_ids()),
            "memory_usage": f"{sample.memory_bytes // (1024 * 1024)}MB",
            "cpu_usage": f"{sample.cpu_percent:.0f}%",
            "security_events": self._security.summary(),
        }
        return ComponentHealth("websocket_server", Health.HEALTHY, metrics=metrics)
