"""A per-node view of resolved sessions in front of any SessionSource, kept exact by revocations and the sweep."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

from application.ports import Clock, SessionCheck, SessionSource
from domain.identity import Session, User

Resolved = tuple[Session, User | None]
MAX_LOAD_BATCH = 500


@runtime_checkable
class BatchSessionSource(Protocol):
    async def resolve_many(self, credentials: list[str]) -> dict[str, Resolved | None]:
        """What `resolve` answers for each credential, in as few round trips as the source can."""
        ...


class _Entry:
    __slots__ = ("confirmed_at", "session", "user")

    def __init__(self, session: Session, user: User | None, confirmed_at: float) -> None:
        self.session = session
        self.user = user
        self.confirmed_at = confirmed_at


class CachedSessionSource:
    """The SessionSource port in front of another one: a connect of a known session costs no round trip.

    An entry is used while it was confirmed less than `max_age` ago (the session sweep interval):
    - loaded: confirmed when read from the source;
    - the sweep rechecks every connected session through here: dead ones are dropped, live ones
      confirmed again (and their user updated where the source tells), unconnected ones age out;
    - a revocation (this node's or another's, through the revocation bus) drops the entry at once.
    So a cached answer is never staler than what a connected socket already lives with: a session
    revoked through the API is refused at once, a change made behind our back (the host's database)
    counts within one sweep interval. Expiry is judged by the caller on the cached `expires_at`.

    Misses are loaded in batches (every credential asked for while a load is in flight goes in the
    next one, one query for all where the source offers `resolve_many`), and concurrent connects of
    the same credential share one load: a reconnect storm of thousands costs a handful of queries.
    Unknown credentials are never cached; the view holds at most `max_entries` (oldest dropped first).
    """

    def __init__(self, source: SessionSource, clock: Clock, max_age: float, max_entries: int = 100_000) -> None:
        self._source = source
        self._clock = clock
        self._max_age = max_age
        self._max_entries = max_entries
        self._entries: dict[str, _Entry] = {}
        self._loading: dict[str, asyncio.Future[Resolved | None]] = {}
        self._queue: list[str] = []
        self._loader: asyncio.Task[None] | None = None
        self._epoch = 0  # bumped by every drop: a load that overlapped one is answered but not kept
        self.loads = 0  # round trips to the source (for tests)

    def __len__(self) -> int:
        return len(self._entries)

    async def resolve(self, credential: str) -> Resolved | None:
        entry = self._entries.get(credential)
        if entry is not None and self._clock.now() - entry.confirmed_at < self._max_age:
            return entry.session, entry.user
        future = self._loading.get(credential)
        if future is None:
            loop = asyncio.get_running_loop()
            future = self._loading[credential] = loop.create_future()
            self._queue.append(credential)
            if self._loader is None:
                self._loader = loop.create_task(self._load_batches())
        return await asyncio.shield(future)  # one waiter cancelled must not cancel the others

    def csrf_matches(self, presented: str, secret: str) -> bool:
        return self._source.csrf_matches(presented, secret)

    async def recheck(self, session_ids: set[str], now: float) -> SessionCheck:
        check = await self._source.recheck(session_ids, now)
        if check.dead:
            self.forget(check.dead)
        for session_id in session_ids - check.dead:
            entry = self._entries.get(session_id)
            if entry is not None:
                entry.confirmed_at = now
                if session_id in check.users:
                    entry.user = check.users[session_id]
        aged = [k for k, e in self._entries.items() if now - e.confirmed_at >= self._max_age]
        for k in aged:
            del self._entries[k]
        return check

    def forget(self, session_ids: set[str]) -> None:
        self._epoch += 1
        for session_id in session_ids:
            self._entries.pop(session_id, None)

    def on_revoked(self, then: Callable[[set[str]], Awaitable[object]]) -> Callable[[set[str]], Awaitable[None]]:
        """A revocation handler that drops the sessions here, then runs `then` (ending their sockets)."""

        async def handler(session_ids: set[str]) -> None:
            self.forget(session_ids)
            await then(session_ids)

        return handler

    async def _load_batches(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue[:MAX_LOAD_BATCH], self._queue[MAX_LOAD_BATCH:]
                epoch, started = self._epoch, self._clock.now()
                self.loads += 1
                try:
                    found = await self._resolve_many(batch)
                except Exception as exc:
                    for credential in batch:
                        self._settle(credential, exc)
                    continue
                keep = epoch == self._epoch
                for credential in batch:
                    answer = found.get(credential)
                    if keep and isinstance(answer, tuple):
                        self._remember(credential, answer, started)
                    self._settle(credential, answer)
        finally:
            self._loader = None

    async def _resolve_many(self, batch: list[str]) -> dict[str, Resolved | BaseException | None]:
        if isinstance(self._source, BatchSessionSource):
            return dict(await self._source.resolve_many(batch))
        answers = await asyncio.gather(*(self._source.resolve(c) for c in batch), return_exceptions=True)
        return dict(zip(batch, answers, strict=True))

    def _remember(self, credential: str, answer: Resolved, confirmed_at: float) -> None:
        if len(self._entries) >= self._max_entries:
            del self._entries[next(iter(self._entries))]
        self._entries[credential] = _Entry(answer[0], answer[1], confirmed_at)

    def _settle(self, credential: str, answer: Resolved | BaseException | None) -> None:
        future = self._loading.pop(credential, None)
        if future is None or future.done():
            return
        if isinstance(answer, BaseException):
            future.set_exception(answer)
        else:
            future.set_result(answer)
