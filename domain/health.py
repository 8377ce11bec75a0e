"""Component health and the alerts its changes call for."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Health(StrEnum):
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"


@dataclass(frozen=True, slots=True)
class ComponentHealth:
    component: str
    status: Health
    detail: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class HealthTracker:
    """Remembers each component's last status; a change to or from healthy calls for an admin alert."""

    last: dict[str, Health] = field(default_factory=dict)

    def observe(self, health: ComponentHealth) -> dict[str, Any] | None:
        previous = self.last.get(health.component)
        self.last[health.component] = health.status
        if previous is None and health.status is Health.HEALTHY:
            return None
        if previous == health.status:
            return None
        name = health.component.replace("_", " ")
        if health.status is Health.HEALTHY:
            return {
                "severity": "info",
                "component": health.component,
                "title": f"{name.capitalize()} recovered",
                "message": f"{name.capitalize()} is healthy again.",
                "recommended_action": None,
            }
        severity = "critical" if health.status is Health.UNHEALTHY else "warning"
        return {
            "severity": severity,
            "component": health.component,
            "title": f"{name.capitalize()} is {health.status.value}",
            "message": health.detail or f"{name.capitalize()} reported {health.status.value}.",
            "recommended_action": f"Check the {name} service and its logs",
        }
