"""Run order for the parallel run (`make test` uses pytest-xdist's worksteal): each worker's share, longest first."""

from __future__ import annotations

import os

import pytest

# Rough seconds per test of the modules whose tests start child processes (nodes, workers, the CLI, node, Chromium,
# nginx), measured on 4 workers; every other test counts as SHORT. Only the order depends on these numbers.
WEIGHTS = {
    "test_rolling_restart.py": 28,
    "test_browser.py": 22,
    "test_flask_browser.py": 16,
    "test_recovery_fleet.py": 12,
    "test_inline_fleet_jobs.py": 11,
    "test_reference_scripts.py": 11,
    "test_drain_recovery.py": 10,
    "test_fleet.py": 8,
    "test_cli.py": 7,
    "test_packaging.py": 6,
    "test_publish_platforms.py": 6,
    "test_nginx.py": 6,
    "test_fuzz_smoke.py": 5,
    "test_caption_engine.py": 5,
    "test_client_js_refusals.py": 5,
    "test_redis_faults.py": 4,
    "test_cli_tools.py": 4,
    "test_hostile_doors.py": 3.5,
    "test_hostile_identity.py": 3.5,
    "test_drain_exit.py": 3,
    "test_hostile_handshakes.py": 3,
    "test_recovery.py": 2,
    "test_hostile_inputs.py": 2,
    "test_asyncapi.py": 2,
    "test_json_logs.py": 2,
    "test_hostile_logs.py": 2,
    "test_job_failures.py": 2,
    "test_openapi.py": 1.5,
    "test_platform_events.py": 1.5,
    "test_flask_sessions.py": 1,
}
SHORT = 0.3


def weight(item: pytest.Item) -> float:
    return WEIGHTS.get(item.path.name, SHORT)


@pytest.hookimpl(trylast=True)  # after `-m` has deselected: the shares are cut from what runs
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items[:] = balanced(items, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))


def balanced(items: list[pytest.Item], workers: int) -> list[pytest.Item]:
    """`items` as `workers` consecutive shares of the sizes worksteal first sends each worker (an even split by
    count), each share holding about the same seconds, its longest tests first. A worker that finishes early
    steals from the end of another's share: short tests. Within a share, each module's tests keep their order."""
    sizes = []
    left = len(items)
    for remaining in range(workers, 0, -1):
        sizes.append(left // remaining)
        left -= sizes[-1]
    shares: list[list[pytest.Item]] = [[] for _ in sizes]
    loads = [0.0] * len(sizes)
    for item in sorted(items, key=weight, reverse=True):  # stable: equal weights keep the collection order
        share = min((i for i in range(len(shares)) if len(shares[i]) < sizes[i]), key=loads.__getitem__)
        shares[share].append(item)
        loads[share] += weight(item)
    return [item for share in shares for item in share]
