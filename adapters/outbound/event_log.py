"""The recent replayable events this node delivered, per room, bounded in count and age: what recovery replays."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import NamedTuple

import orjson


class Entry(NamedTuple):
    seq: int
    at: float
    text: str  # the whole Socket.IO packet, offset included, as every recipient got it


def encode_logged(namespace: str, event: str, payload: object, seq: int) -> str:
    """A Socket.IO EVENT packet whose last argument is its offset (how the stock client learns it)."""
    prefix = "2" if namespace == "/" else f"2{namespace},"
    return prefix + orjson.dumps([event, payload, str(seq)]).decode()


class LocalEventLog:
    """Entries by (namespace, room), each room's log capped at `per_room` and `window` seconds.

    A room's `floor` is the newest position dropped from its log: a replay that needs anything at or
    below it cannot be honoured. `known_from` is the position before which this log knows nothing
    (a fleet node started, or lost part of the stream, then).
    """

    def __init__(self, per_room: int, window: float, epoch: str) -> None:
        self.per_room = per_room
        self.window = window
        self.epoch = epoch
        self.position = 0
        self.known_from = 0
        self._rooms: dict[tuple[str, str], deque[Entry]] = {}
        self._floors: dict[tuple[str, str], int] = {}
        self._next_sweep = 0.0

    def append(self, seq: int, namespace: str, rooms: Iterable[str], text: str, now: float) -> None:
        entry = Entry(seq, now, text)
        self.position = seq
        oldest = now - self.window
        for room in rooms:
            key = (namespace, room)
            log = self._rooms.get(key)
            if log is None:
                log = self._rooms[key] = deque()
            while log and (len(log) >= self.per_room or log[0].at < oldest):
                self._floors[key] = log.popleft().seq
            log.append(entry)
        if now >= self._next_sweep:
            self._sweep(now)

    def restart(self, epoch: str, position: int) -> None:
        """Forgets everything: the shared log was reset (new epoch) or this node lost part of it."""
        self.epoch = epoch
        self.position = self.known_from = position
        self._rooms.clear()
        self._floors.clear()

    def since(self, namespace: str, rooms: dict[str, int], after: int) -> list[Entry] | None:
        """Every entry after `after` (and after each room's join) for any of `rooms`, in order, once each.

        None when part of that range is no longer (or never was) in this log.
        """
        if after < self.known_from:
            return None
        found: dict[int, Entry] = {}
        for room, joined in rooms.items():
            lower = max(after, joined)
            key = (namespace, room)
            if self._floors.get(key, self.known_from) > lower:
                return None
            log = self._rooms.get(key)
            if not log or log[-1].seq <= lower:
                continue
            for entry in reversed(log):
                if entry.seq <= lower:
                    break
                found[entry.seq] = entry
        return [found[seq] for seq in sorted(found)]

    def _sweep(self, now: float) -> None:
        # A room quiet for two windows holds nothing a valid recovery needs (every parked state is
        # younger than one window): drop it, so rooms do not accumulate.
        stale = now - 2 * self.window
        for key in [k for k, log in self._rooms.items() if log[-1].at < stale]:
            del self._rooms[key]
            self._floors.pop(key, None)
        self._next_sweep = now + self.window
