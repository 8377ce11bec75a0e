"""The periodic admin feed on the in-memory twins: metrics per component, alerts only on changes."""

from __future__ import annotations

from adapters.outbound.memory.fleet import LocalFleetView
from application.notifications import RaiseAdminAlert
from application.ports import FleetTotals, ServerMetrics
from application.system_status import PublishSystemStatus
from domain.health import ComponentHealth, Health
from tests.unit.twins import World


class FixedSystem:
    def sample(self) -> ServerMetrics:
        return ServerMetrics(memory_bytes=48 * 1024 * 1024, cpu_percent=12.4)


class ScriptedProbe:
    """A component whose health the test sets; `None` makes the probe itself raise."""

    component = "database"

    def __init__(self) -> None:
        self.next: Health | None = Health.HEALTHY

    async def check(self) -> ComponentHealth:
        if self.next is None:
            raise ConnectionError("probe broke")
        return ComponentHealth(self.component, self.next, "pool exhausted" if self.next is not Health.HEALTHY else "")


class DownFleet:
    async def report(self, node_id: str, active_connections: int, total_connections: int) -> None:
        raise ConnectionError("redis is gone")

    async def totals(self) -> FleetTotals:
        raise AssertionError("not reached")


def feed(world: World, probe: ScriptedProbe, fleet: object | None = None) -> PublishSystemStatus:
    return PublishSystemStatus(
        world.registry,
        FixedSystem(),
        [probe],
        world.outbox,
        RaiseAdminAlert(world.outbox, world.tokens),
        world.security,
        fleet or LocalFleetView(),  # type: ignore[arg-type]
        "node-1",
    )


async def test_each_round_reports_every_component_and_alerts_only_when_health_changes() -> None:
    world = World()
    probe = ScriptedProbe()
    publish = feed(world, probe)
    session = await world.session(await world.user("demo"))
    await world.connect("s1", "e1", "/", session.id, None, "ip")

    await publish()
    statuses = world.publisher.events("system_status_update")
    assert [s["component"] for s in statuses] == ["websocket_server", "database"]
    server = statuses[0]["metrics"]
    assert server == server | {"active_connections": 1, "nodes_reporting": 1, "node_id": "node-1", "active_users": 1}
    assert (server["memory_usage"], server["cpu_usage"]) == ("48MB", "12%")
    assert world.publisher.events("admin_alert") == []  # healthy from the start: nothing to say

    probe.next = Health.UNHEALTHY
    await publish()
    await publish()  # still unhealthy: no second alert
    (alert,) = world.publisher.events("admin_alert")
    assert alert == alert | {"severity": "critical", "component": "database", "message": "pool exhausted"}

    probe.next = None  # a probe that raises is itself a finding, reported as unhealthy (no new alert)
    await publish()
    assert world.publisher.events("system_status_update")[-1]["status"] == "unhealthy"
    assert len(world.publisher.events("admin_alert")) == 1

    probe.next = Health.HEALTHY
    await publish()
    recovered = world.publisher.events("admin_alert")[-1]
    assert recovered == recovered | {"severity": "info", "component": "database"}


async def test_without_the_fleet_view_the_node_reports_itself() -> None:
    world = World()
    publish = feed(world, ScriptedProbe(), DownFleet())
    session = await world.session(await world.user("demo"))
    await world.connect("s1", "e1", "/", session.id, None, "ip")
    (server, _) = await publish()
    assert server.metrics == server.metrics | {"active_connections": 1, "nodes_reporting": 0}
