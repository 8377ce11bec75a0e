"""The ports (Protocols) the use cases need; adapters implement them, bootstrap wires them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from application.port_errors import Conflict as Conflict
from application.port_errors import NotFound as NotFound
from application.port_errors import PortError as PortError
from application.port_errors import Unavailable as Unavailable
from domain.errors import DomainError, ErrorCode
from domain.health import ComponentHealth
from domain.identity import Role, Session, User
from domain.jobs import CaptionJob, CaptionResult, JobStatus, PostImage
from domain.platforms import PlatformConnection, PlatformStatus, PlatformType
from domain.rate_limit import Decision, RateRule


class Clock(Protocol):
    def now(self) -> float:
        """Wall-clock seconds since the epoch."""
        ...


class TokenSource(Protocol):
    def message_id(self) -> str: ...

    def secret(self) -> str:
        """An unguessable token of at least 128 bits (session ids, CSRF tokens)."""
        ...


class UserRepository(Protocol):
    async def get(self, user_id: int) -> User | None: ...

    async def get_by_username(self, username: str) -> User | None: ...

    async def get_many(self, user_ids: Iterable[int]) -> dict[int, User]:
        """The users among these ids that exist, in one round trip."""
        ...

    async def add(self, username: str, role: Role, active: bool = True) -> User: ...

    async def set_active(self, user_id: int, active: bool) -> None: ...


class SessionRepository(Protocol):
    async def get(self, session_id: str) -> Session | None: ...

    async def get_many(self, session_ids: Iterable[str]) -> dict[str, Session]:
        """The sessions among these ids that exist, in one round trip."""
        ...

    async def add(self, session: Session) -> None: ...

    async def revoke(self, session_id: str) -> bool: ...

    async def touch(self, session_ids: Iterable[str], now: float) -> None: ...

    async def dead_among(self, session_ids: Iterable[str], now: float) -> set[str]:
        """The given sessions that are revoked, expired, gone, or whose user is inactive."""
        ...


class PlatformRepository(Protocol):
    async def get(self, platform_id: int) -> PlatformConnection | None: ...

    async def for_user(self, user_id: int) -> list[PlatformConnection]: ...

    async def instance_urls(self) -> list[str]:
        """Every distinct instance URL of every connection (for health probes)."""
        ...

    async def add(
        self, user_id: int, name: str, platform_type: PlatformType, instance_url: str
    ) -> PlatformConnection: ...

    async def set_status(
        self, platform_id: int, status: PlatformStatus, last_sync: float | None
    ) -> PlatformConnection: ...

    async def change_status_on_instance(
        self, instance_url: str, allowed_from: Iterable[PlatformStatus], status: PlatformStatus
    ) -> list[PlatformConnection]:
        """Sets `status` on the instance's connections whose status is one of `allowed_from`, atomically;
        the connections it changed (so of several nodes doing this at once, one reports each change)."""
        ...


class UnitOfWork(Protocol):
    """One transaction around several port writes: inside `transaction()`, the writes of the repositories
    built on the same store commit together or, if the block raises, none of them does. A block inside
    another joins it. Never hold one across a network call to something else (a platform, Ollama)."""

    def transaction(self) -> AbstractAsyncContextManager[None]: ...


class PlatformCredentials(Protocol):
    """Access tokens of platform connections, stored encrypted."""

    def check_ready(self) -> None:
        """Raises Unavailable (not retryable, saying what to configure) if tokens cannot be stored now."""
        ...

    async def store(self, platform_id: int, token: str) -> None: ...

    async def token_for(self, platform: PlatformConnection) -> str:
        """The token, or PlatformUnavailable (not retryable) when none is stored or it cannot be read."""
        ...


class JobRepository(Protocol):
    async def add(self, job: CaptionJob) -> None:
        """Stores a new job; raises JobAlreadyActive if the user has an active job."""
        ...

    async def get(self, job_id: str) -> CaptionJob | None: ...

    async def active_for_user(self, user_id: int) -> CaptionJob | None: ...

    async def latest_for_user(self, user_id: int) -> CaptionJob | None: ...

    async def save_progress(self, job: CaptionJob) -> None:
        """Writes the counts and totals the runner owns; never the status."""
        ...

    async def transition(self, job: CaptionJob, allowed_from: Iterable[JobStatus]) -> bool:
        """Writes the job's status and clock if its stored status is one of `allowed_from`."""
        ...

    async def with_status(self, statuses: Iterable[JobStatus]) -> list[CaptionJob]: ...

    async def add_result(self, job: CaptionJob, result: CaptionResult) -> bool:
        """Stores one post's outcome and the job's counts (and, while it runs, its clock) in one transaction.

        False, storing nothing, when the job is no longer active (cancelled meanwhile); a second
        outcome for the same post is ignored (True: the post is stored).
        """
        ...

    async def results(self, job_id: str) -> list[CaptionResult]: ...

    async def begin_attempt(self, job_id: str) -> int | None:
        """Counts a run of an active job, atomically; the count since its last stored outcome (None if inactive).

        `add_result` sets the count back to zero: only runs that keep dying before storing anything add up.
        """
        ...


class StorageFailed(DomainError):
    """The database failed an operation (unreachable, timed out, refused the statement); asking again may work."""

    def __init__(self) -> None:
        super().__init__(ErrorCode.DATABASE_ERROR, "The database could not complete the operation; try again shortly")


class JobAlreadyActive(Exception):
    """The user already has a queued, running or paused job."""


@dataclass(frozen=True, slots=True)
class PostPage:
    """One page of a sync: its images to caption, and how far through the account's posts the sync is."""

    posts: list[PostImage]
    items_seen: int  # the account's posts examined so far, this page's included
    items_total: int | None  # the account's posts in all, when the platform says (None: unknown)


class PostSource(Protocol):
    def pages(
        self, platform: PlatformConnection, limit: int | None, include_described: bool = False
    ) -> AsyncIterator[PostPage]:
        """Pages of the account's images that lack alt text (all its images with `include_described`)."""
        ...


@dataclass(frozen=True, slots=True)
class GeneratedCaption:
    text: str
    confidence_score: float | None
    processing_time: float


class CaptionFailure(Exception):
    def __init__(self, error_type: str, message: str, retry_possible: bool) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.retry_possible = retry_possible


class CaptionGenerator(Protocol):
    async def caption(self, post: PostImage) -> GeneratedCaption:
        """A caption for one image, or CaptionFailure."""
        ...

    @property
    def seconds_per_post_estimate(self) -> float: ...


class Publisher(Protocol):
    """Delivers an event to a room of a namespace, on this node and (multi-node) every other."""

    async def publish(self, event: str, payload: dict[str, Any], *, namespace: str, room: str | list[str]) -> None: ...


class Transport(Protocol):
    """What use cases may ask of the socket server about one connection."""

    async def enter_room(self, sid: str, room: str, namespace: str) -> None: ...

    async def leave_room(self, sid: str, room: str, namespace: str) -> None: ...

    async def send(self, sid: str, event: str, payload: dict[str, Any], namespace: str) -> None: ...

    async def disconnect(self, sid: str, namespace: str) -> None: ...


class RateLimitStore(Protocol):
    """Keeps one sliding log per key; a refused hit changes nothing."""

    async def hit(self, key: str, rule: RateRule, now: float) -> Decision: ...


class ConnectionSlotStore(Protocol):
    """Concurrent connections per key, capped; release is idempotent.

    Fleet-wide stores hold slots as leases: `refresh` extends the live holders of this node, so the
    slots of a node that died come back by themselves.
    """

    async def acquire(self, key: str, holder: str, cap: int, now: float) -> bool: ...

    async def release(self, key: str, holder: str) -> None: ...

    async def refresh(self, holders_by_key: dict[str, set[str]]) -> None: ...


class JobScheduler(Protocol):
    def schedule(self, job_id: str) -> None:
        """Runs the job soon, somewhere; returns at once."""
        ...


class JobRunner(JobScheduler, Protocol):
    """A scheduler that runs jobs in this process, so it can also stop one (a claim lost to another runner)."""

    def stop(self, job_id: str) -> None: ...


class JobSignals(Protocol):
    """Wakes a job's runner when its stored state changed (resume, cancel); storage stays the truth.

    A runner arms before it reads the job, then waits; a wake after the arm ends the wait at once,
    and the timeout bounds how late a change made where no signal reaches (another process) is seen.
    """

    def arm(self, job_id: str) -> None: ...

    async def wake(self, job_id: str) -> None:
        """Wakes the job's runner here at once and, across nodes, before it returns; never raises:
        a wake that cannot reach other nodes is logged and counted (their runners see it at their timeout)."""
        ...

    async def wait(self, job_id: str, at_most: float) -> None: ...

    def forget(self, job_id: str) -> None: ...


@dataclass(frozen=True, slots=True)
class ServerMetrics:
    memory_bytes: int
    cpu_percent: float


class SystemProbe(Protocol):
    def sample(self) -> ServerMetrics: ...


class HealthProbe(Protocol):
    component: str

    async def check(self) -> ComponentHealth: ...


class PlatformUnavailable(Unavailable):
    """The platform could not be reached (`unreachable`: timed out, refused, 5xx) or refused the credentials."""

    def __init__(self, message: str, retry_possible: bool = True, unreachable: bool = False) -> None:
        super().__init__(message, retry_possible)
        self.unreachable = unreachable


class PlatformVerifier(Protocol):
    async def verify(self, platform: PlatformConnection) -> None:
        """Returns if the instance answers and accepts the stored token; else PlatformUnavailable."""
        ...


@dataclass(frozen=True, slots=True)
class FleetTotals:
    active_connections: int
    total_connections: int
    nodes: int


class FleetView(Protocol):
    """Each serving node reports its own counts; admins see the sum over the nodes that report."""

    async def report(self, node_id: str, active_connections: int, total_connections: int) -> None: ...

    async def totals(self) -> FleetTotals: ...


class RevocationBroadcast(Protocol):
    """Tells every node that sessions were revoked, so each ends its sockets of them at once."""

    async def publish(self, session_ids: set[str]) -> None: ...


class JobLeases(Protocol):
    """Exactly one runner per job across the fleet: a claim is a lease its owner keeps renewing."""

    async def claim(self, job_id: str, owner: str) -> bool: ...

    async def renew(self, job_ids: set[str], owner: str) -> set[str]:
        """The job ids whose lease this owner still holds."""
        ...

    async def release(self, job_id: str, owner: str) -> None: ...


@dataclass(frozen=True, slots=True)
class SessionCheck:
    """A recheck of connected sessions: the dead ones, and the users whose stored record changed."""

    dead: set[str]
    users: dict[str, User]


class AnonymousSession(Exception):
    """The credential is genuine but names no user (a host session before login or after logout)."""


class SessionSource(Protocol):
    """Who a presented credential stands for: our own stored sessions, or the host's signed cookie.

    Chosen by configuration (SESSION_SOURCE); the use cases never know which one answers.
    """

    async def resolve(self, credential: str) -> tuple[Session, User | None] | None:
        """The session a credential (session id or cookie value) stands for and its user as stored now.

        None when the credential is unknown, forged or malformed; AnonymousSession when it is genuine but
        names no user; expiry is the caller's to judge.
        """
        ...

    def csrf_matches(self, presented: str, secret: str) -> bool:
        """Whether a client's CSRF token proves a session whose CSRF secret is `secret` (constant-time)."""
        ...

    async def recheck(self, session_ids: set[str], now: float) -> SessionCheck:
        """Which of these connected sessions died (revoked, expired, user gone or inactive), and, for
        the live ones, the users as stored now where the source can tell cheaply (role changes)."""


@dataclass(slots=True)
class RecoveryState:
    """What a connection needs to be recovered after its transport dropped (connection-state recovery).

    `start` is the log position when the connection (or its last recovery) began and its automatic
    rooms were joined: the replay floor when the client saw no event. `joined` lists the rooms it
    joined on request with the log position of each join (usually none: kept small, one per connection).
    """

    pid: str
    sid: str
    namespace: str
    session_id: str
    user_id: int
    joined: tuple[tuple[str, int], ...]
    start: int
    epoch: str
    holder: str  # the physical connection holding it; only the holder may park it


class RecoveryStates(Protocol):
    """Recoverable states by private id: live while their connection is, parked for the window after it drops."""

    async def save(self, state: RecoveryState) -> None:
        """Stores (or overwrites) the state of a live connection."""
        ...

    async def park(self, state: RecoveryState, window: float) -> None:
        """Keeps the state for `window` seconds, unless another connection has taken it since."""
        ...

    async def take(self, pid: str) -> RecoveryState | None:
        """Removes and returns the state (single use), or None if unknown or expired."""
        ...

    async def drop(self, state: RecoveryState) -> None:
        """Forgets the state, unless another connection has taken it since."""
        ...

    async def refresh(self, states: list[RecoveryState]) -> None:
        """Keeps live states alive (fleet stores expire them so the states of a killed node vanish)."""
        ...


class AdminActivity(Protocol):
    """Where user activity for admins goes when it need not hold up the caller (connects, disconnects)."""

    def announce(self, payload: dict[str, Any]) -> None:
        """Queues one `user_activity_update` payload (unstamped); it is sent soon, in order, never raising."""
        ...
