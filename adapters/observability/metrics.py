"""Prometheus metrics of one node: counters bound to their labels once, live state read at scrape time."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from domain import events
from domain.access import ADMIN_NAMESPACE, USER_NAMESPACE

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
NAMESPACES = (USER_NAMESPACE, ADMIN_NAMESPACE)
CLIENT_EVENTS = frozenset(events.CLIENT_EVENT_SCHEMAS)
UNKNOWN = "unknown"
OK = "ok"
# The outcome of an event whose socket was ended (session revoked or expired) before it ran.
ENDED = "ended"
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
JOB_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200)
FANOUT_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000)


class Metrics:
    """Every metric of the service, in a registry of its own (several nodes may share a test process).

    Hot-path methods index a dict of pre-bound children and increment: no label resolution per event.
    """

    def __init__(self, node_id: str, registry: CollectorRegistry | None = None) -> None:
        self.node_id = node_id
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r, node = self.registry, ("node_id",)
        self._connects = Counter(
            "vedfolnir_connects",
            "Socket.IO connects by namespace and outcome (accepted or the refusal's error code)",
            [*node, "namespace", "outcome"],
            registry=r,
        )
        self._client_events = Counter(
            "vedfolnir_client_events",
            "Client events by name (unknown names as 'unknown') and outcome (ok, ended or the error code)",
            [*node, "event", "outcome"],
            registry=r,
        )
        self._deliveries = Counter(
            "vedfolnir_deliveries",
            "Event packets queued to this node's sockets, by namespace",
            [*node, "namespace"],
            registry=r,
        )
        self._fanout = Histogram(
            "vedfolnir_broadcast_recipients",
            "Sockets of this node reached by one emit, by namespace",
            [*node, "namespace"],
            buckets=FANOUT_BUCKETS,
            registry=r,
        )
        self._drops = Counter(
            "vedfolnir_dropped_packets",
            "Packets not delivered, by reason (closed_socket, queue_full, budget)",
            [*node, "reason"],
            registry=r,
        )
        self._limiter = Counter(
            "vedfolnir_limiter_decisions",
            "Limiter decisions by limit (messages, connect_attempts, handshakes, connections) and decision",
            [*node, "limit", "decision"],
            registry=r,
        )
        self._jobs_started = Counter(
            "vedfolnir_jobs_started", "Caption jobs started (first run or resumed run)", node, registry=r
        )
        self._jobs_finished = Counter(
            "vedfolnir_jobs_finished",
            "Caption jobs that ended, by outcome (completed, failed, cancelled)",
            [*node, "outcome"],
            registry=r,
        )
        self._job_seconds = Histogram(
            "vedfolnir_job_duration_seconds",
            "Running time of ended caption jobs, by outcome",
            [*node, "outcome"],
            buckets=JOB_BUCKETS,
            registry=r,
        )
        self._captions = Counter(
            "vedfolnir_captions", "Captions generated (rate() of it is captions per second)", node, registry=r
        )
        self._caption_errors = Counter(
            "vedfolnir_caption_errors", "Posts whose caption failed, by error_type", [*node, "error_type"], registry=r
        )
        self._db = Histogram(
            "vedfolnir_db_query_seconds", "Database statement latency", node, buckets=LATENCY_BUCKETS, registry=r
        )
        self._redis = Histogram(
            "vedfolnir_redis_command_seconds", "Redis command latency", node, buckets=LATENCY_BUCKETS, registry=r
        )
        self._recovery = Counter(
            "vedfolnir_recovery",
            "Connection-state recovery attempts by outcome (hit, miss)",
            [*node, "outcome"],
            registry=r,
        )
        self._http = Counter(
            "vedfolnir_http_requests",
            "HTTP requests by route template, method and status",
            [*node, "route", "method", "status"],
            registry=r,
        )
        self._http_seconds = Histogram(
            "vedfolnir_http_request_seconds",
            "HTTP request latency by route template",
            [*node, "route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self._draining = Gauge("vedfolnir_draining", "1 while this node drains before exiting", node, registry=r)
        self._lost_wakes = Counter(
            "vedfolnir_job_wakes_lost",
            "Job wake-ups (resume, cancel) that could not reach other nodes; their runners see it at their timeout",
            node,
            registry=r,
        )
        ProcessCollector(registry=r)

        self.db_latency = self._db.labels(node_id)
        self.redis_latency = self._redis.labels(node_id)
        self.draining = self._draining.labels(node_id)
        self.lost_wake = self._lost_wakes.labels(node_id).inc  # called by RedisJobSignals
        self._jobs_started_child = self._jobs_started.labels(node_id)
        self._captions_child = self._captions.labels(node_id)
        # Children are bound on first use and kept: one labels() call per label combination, ever.
        self._connect_children: dict[tuple[str, str], Any] = {}
        self._event_children: dict[tuple[str, str], Any] = {}
        self._delivery_children: dict[str, tuple[Any, Any]] = {}
        self._drop_children: dict[str, Any] = {}
        self._limiter_children: dict[tuple[str, bool], Any] = {}
        self._recovery_children: dict[bool, Any] = {}

    # --- the per-connect and per-event path: a dict lookup and an increment ---

    def connect(self, namespace: str, outcome: str) -> None:
        child = self._connect_children.get((namespace, outcome))
        if child is None:
            child = self._connect_children[(namespace, outcome)] = self._connects.labels(
                self.node_id, namespace, outcome
            )
        child.inc()

    def client_event(self, event: Any, payload: Any) -> None:
        """Counts one client event by the gateway's answer: no answer means its socket was ended."""
        name = event if event in CLIENT_EVENTS else UNKNOWN
        if payload is None:
            outcome = ENDED
        else:
            code = payload.get("error_code") if isinstance(payload, dict) else None
            outcome = code if isinstance(code, str) else OK
        child = self._event_children.get((name, outcome))
        if child is None:  # outcomes are OK, ENDED or an ErrorCode value: bounded
            child = self._event_children[(name, outcome)] = self._client_events.labels(self.node_id, name, outcome)
        child.inc()

    def delivered(self, namespace: str, recipients: int) -> None:
        if not recipients:
            return
        children = self._delivery_children.get(namespace)
        if children is None:
            if namespace not in NAMESPACES:
                return
            children = self._delivery_children[namespace] = (
                self._deliveries.labels(self.node_id, namespace),
                self._fanout.labels(self.node_id, namespace),
            )
        children[0].inc(recipients)
        children[1].observe(recipients)

    def dropped(self, reason: str, count: int = 1) -> None:
        """Hook for every place that drops a packet (queue bounds and per-client budgets use it too)."""
        child = self._drop_children.get(reason)
        if child is None:
            child = self._drop_children[reason] = self._drops.labels(self.node_id, reason)
        child.inc(count)

    def limiter(self, limit: str, allowed: bool) -> None:
        child = self._limiter_children.get((limit, allowed))
        if child is None:
            decision = "allowed" if allowed else "refused"
            child = self._limiter_children[(limit, allowed)] = self._limiter.labels(self.node_id, limit, decision)
        child.inc()

    def recovery(self, hit: bool) -> None:
        """Hook for connection-state recovery: call with whether a reconnecting client's state was restored."""
        child = self._recovery_children.get(hit)
        if child is None:
            child = self._recovery_children[hit] = self._recovery.labels(self.node_id, "hit" if hit else "miss")
        child.inc()

    # --- jobs, seen through the events their runner publishes ---

    def published(self, event: str, payload: dict[str, Any]) -> None:
        if event == events.CAPTION_GENERATED:
            self._captions_child.inc()
        elif event == events.CAPTION_PROGRESS:
            return
        elif event == events.CAPTION_GENERATION_STARTED:
            self._jobs_started_child.inc()
        elif event == events.CAPTION_GENERATION_COMPLETED:
            outcome = str(payload.get("status") or UNKNOWN)
            self._jobs_finished.labels(self.node_id, outcome).inc()
            seconds = payload.get("total_processing_time")
            if isinstance(seconds, int | float):
                self._job_seconds.labels(self.node_id, outcome).observe(seconds)
        elif event == events.CAPTION_GENERATION_ERROR:
            self._caption_errors.labels(self.node_id, str(payload.get("error_type") or UNKNOWN)).inc()

    def http_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self._http.labels(self.node_id, route, method, str(status)).inc()
        self._http_seconds.labels(self.node_id, route).observe(seconds)

    # --- state read when Prometheus scrapes ---

    def watch(
        self,
        connections: Callable[[], Iterable[Any]] | None = None,
        security_counts: Callable[[], dict[str, int]] | None = None,
        listeners: Callable[[], dict[str, bool]] | None = None,
        running_jobs: Callable[[], int] | None = None,
    ) -> None:
        self.registry.register(LiveState(self.node_id, connections, security_counts, listeners, running_jobs))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class LiveState(Collector):
    """Gauges and counters that another object already keeps, read at scrape time so both always agree."""

    def __init__(
        self,
        node_id: str,
        connections: Callable[[], Iterable[Any]] | None,
        security_counts: Callable[[], dict[str, int]] | None,
        listeners: Callable[[], dict[str, bool]] | None,
        running_jobs: Callable[[], int] | None,
    ) -> None:
        self._node_id = node_id
        self._connections = connections
        self._security = security_counts
        self._listeners = listeners
        self._running_jobs = running_jobs

    def collect(self) -> Iterator[Any]:
        node = self._node_id
        if self._connections is not None:
            family = GaugeMetricFamily(
                "vedfolnir_connections",
                "Live Socket.IO connections of this node by namespace",
                labels=["node_id", "namespace"],
            )
            counts = dict.fromkeys(NAMESPACES, 0)
            for conn in self._connections():
                counts[conn.namespace] = counts.get(conn.namespace, 0) + 1
            for namespace, count in sorted(counts.items()):
                family.add_metric([node, namespace], count)
            yield family
        if self._security is not None:
            events = CounterMetricFamily(
                "vedfolnir_security_events",
                "Security events by kind (the admin feed's security_events)",
                labels=["node_id", "kind"],
            )
            for kind, count in sorted(self._security().items()):
                events.add_metric([node, kind], count)
            yield events
        if self._listeners is not None:
            family = GaugeMetricFamily(
                "vedfolnir_redis_listener_up",
                "1 while a Redis subscription is subscribed and answering pings",
                labels=["node_id", "listener"],
            )
            for name, up in sorted(self._listeners().items()):
                family.add_metric([node, name], 1.0 if up else 0.0)
            yield family
        if self._running_jobs is not None:
            family = GaugeMetricFamily(
                "vedfolnir_jobs_running", "Caption jobs running in this process", labels=["node_id"]
            )
            family.add_metric([node], self._running_jobs())
            yield family
