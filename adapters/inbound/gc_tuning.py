"""The interpreter tuned once the service has started: start-up objects frozen, young collections rarer, and a
shorter GIL switch interval."""

from __future__ import annotations

import asyncio
import gc
import sys

# Collections of the youngest generation every 700 allocations (CPython's default) run several times
# per hundred events; most event garbage is freed by reference counting and never needs a collection.
# 20 000 keeps cyclic garbage bounded (a young collection still runs every 20 000 net allocations)
# while collecting far less often; gens 1 and 2 keep their ratios (CPython also skips full collections
# until a quarter of the long-lived objects are new).
YOUNG_THRESHOLD = 20_000
# SQLite calls run on aiosqlite's worker thread, each answer handed back to the loop: a dozen GIL hand-offs per
# query. With the loop's thread busy (a flood being refused), each hand-off waited up to CPython's 5 ms switch
# interval, so one client's status request took ~1-4 s under another's flood; at 0.5 ms it takes well under 1.5 s.
# An idle or single-threaded process is unaffected: the interval only matters while a second thread waits.
SWITCH_INTERVAL_SECONDS = 0.0005
_tuned: list[bool] = []  # once per process: an embedding host or a test run may start several apps


def tune_after_startup() -> None:
    """Moves everything alive now (modules, the container, compiled schemas) out of the collector's sight
    (`gc.freeze`: full collections no longer traverse it) and raises the young-generation threshold."""
    if _tuned:
        return
    _tuned.append(True)
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)


# At most one full collection per this many seconds, whatever clients send: a collection costs milliseconds
# (the start-up objects are frozen), so refusals cannot buy more than a small share of a core.
COLLECT_INTERVAL = 0.1
_collect_state: dict[str, float | bool] = {"pending": False, "last": float("-inf")}


def collect_soon() -> None:
    """A full collection on the next loop turn (or, if one ran in the last COLLECT_INTERVAL, when that ends).

    For refusals whose garbage is cyclic and holds what the client sent: a request aiohttp could not parse (too
    many or too long headers) leaves its connection's objects (parser with every header read, the error, the
    request) in reference cycles, about 1 MB per refused request, freed only by the cyclic collector, and old
    enough by then that a young collection does not reach them. With YOUNG_THRESHOLD above, 200 such requests
    left +74 MB of RSS before a collection ran (measured in tests/integration/test_hostile_handshakes.py)."""
    if _collect_state["pending"]:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    _collect_state["pending"] = True
    wait = float(_collect_state["last"]) + COLLECT_INTERVAL - loop.time()
    loop.call_later(max(0.0, wait), _collect, loop)


def _collect(loop: asyncio.AbstractEventLoop) -> None:
    gc.collect()
    _collect_state["pending"] = False
    _collect_state["last"] = loop.time()
