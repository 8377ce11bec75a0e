"""The garbage collector tuned once the service has started: start-up objects frozen, young collections rarer."""

from __future__ import annotations

import gc

# Collections of the youngest generation every 700 allocations (CPython's default) run several times
# per hundred events; most event garbage is freed by reference counting and never needs a collection.
# 20 000 keeps cyclic garbage bounded (a young collection still runs every 20 000 net allocations)
# while collecting far less often; gens 1 and 2 keep their ratios (CPython also skips full collections
# until a quarter of the long-lived objects are new).
YOUNG_THRESHOLD = 20_000
_tuned: list[bool] = []  # once per process: an embedding host or a test run may start several apps


def tune_after_startup() -> None:
    """Moves everything alive now (modules, the container, compiled schemas) out of the collector's sight
    (`gc.freeze`: full collections no longer traverse it) and raises the young-generation threshold."""
    if _tuned:
        return
    _tuned.append(True)
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
