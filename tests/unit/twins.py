"""Use cases wired by hand on the in-memory twins, a fake clock and recording transport/publisher: no container."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field

from adapters.outbound.memory.jobs import InMemoryJobRepository
from adapters.outbound.memory.limits import InMemoryConnectionSlotStore, InMemoryRateLimitStore
from adapters.outbound.memory.publisher import RecordingPublisher, RecordingTransport
from adapters.outbound.memory.sessions import InMemorySessionRepository
from adapters.outbound.memory.users import InMemoryUserRepository
from adapters.outbound.stored_sessions import StoredSessionSource
from application.client_events import ClientEventGate
from application.connect import ConnectClient, DisconnectClient, EndConnections
from application.connections import ConnectionRegistry
from application.job_control import PauseCaptionGeneration, RequestCaptionStatus, ResumeCaptionGeneration
from application.limits import Limits
from application.outbox import Outbox
from application.rooms import JoinRoom, LeaveRoom
from application.routes import client_routes
from application.security import SecurityEvents
from domain.identity import Role, Session, User, new_session
from domain.rate_limit import RateRule


@dataclass
class FakeClock:
    t: float = 1_700_000_000.0

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


class CountingTokens:
    """Predictable tokens: the tests can tell which one a payload carries."""

    def __init__(self) -> None:
        self._n = itertools.count(1)

    def message_id(self) -> str:
        return f"m{next(self._n)}"

    def secret(self) -> str:
        return f"secret{next(self._n):030d}"


@dataclass
class RecordingSignals:
    """JobSignals that remember which jobs were woken."""

    woken: list[str] = field(default_factory=list)

    def arm(self, job_id: str) -> None:
        pass

    async def wake(self, job_id: str) -> None:
        self.woken.append(job_id)

    async def wait(self, job_id: str, at_most: float) -> None:
        pass

    def forget(self, job_id: str) -> None:
        pass


@dataclass
class World:
    limits: Limits = field(default_factory=Limits)
    clock: FakeClock = field(default_factory=FakeClock)
    tokens: CountingTokens = field(default_factory=CountingTokens)
    users: InMemoryUserRepository = field(default_factory=InMemoryUserRepository)
    jobs: InMemoryJobRepository = field(default_factory=InMemoryJobRepository)
    rates: InMemoryRateLimitStore = field(default_factory=InMemoryRateLimitStore)
    slots: InMemoryConnectionSlotStore = field(default_factory=InMemoryConnectionSlotStore)
    registry: ConnectionRegistry = field(default_factory=ConnectionRegistry)
    transport: RecordingTransport = field(default_factory=RecordingTransport)
    publisher: RecordingPublisher = field(default_factory=RecordingPublisher)
    security: SecurityEvents = field(default_factory=SecurityEvents)
    signals: RecordingSignals = field(default_factory=RecordingSignals)

    def __post_init__(self) -> None:
        self.sessions = InMemorySessionRepository(self.users)
        self.outbox = Outbox(self.publisher, self.transport, self.clock, self.tokens)
        self.source = StoredSessionSource(self.sessions, self.users)
        self.connect = ConnectClient(
            self.source,
            self.registry,
            self.rates,
            self.slots,
            self.transport,
            self.outbox,
            self.clock,
            self.limits,
            self.security,
        )
        self.disconnect = DisconnectClient(self.registry, self.slots, self.outbox)
        self.end_connections = EndConnections(self.registry, self.transport, self.outbox, "/login")
        self.routes = client_routes(
            join_room=JoinRoom(self.transport),
            leave_room=LeaveRoom(self.transport),
            request_caption_status=RequestCaptionStatus(self.jobs),
            pause_caption_generation=PauseCaptionGeneration(self.jobs, self.clock),
            resume_caption_generation=ResumeCaptionGeneration(self.jobs, self.signals, self.clock),
        )
        self.gate = ClientEventGate(
            self.registry,
            self.routes,
            self.rates,
            self.end_connections,
            self.outbox,
            self.clock,
            self.limits,
            lambda data: len(json.dumps(data, default=str)),
            self.security,
        )

    async def user(self, username: str, role: Role = Role.REVIEWER, active: bool = True) -> User:
        return await self.users.add(username, role, active)

    async def session(self, user: User, ttl: float = 3600.0) -> Session:
        session = new_session(self.tokens.secret(), self.tokens.secret(), user, self.clock.now(), ttl)
        await self.sessions.add(session)
        return session


def limits(
    *, connect_attempts: int = 100, per_user: int = 5, messages: int = 100, max_message_bytes: int = 10 * 1024
) -> Limits:
    return Limits(
        messages=RateRule(messages, 60.0),
        connect_attempts=RateRule(connect_attempts, 3600.0),
        connections_per_user=per_user,
        max_message_bytes=max_message_bytes,
    )
