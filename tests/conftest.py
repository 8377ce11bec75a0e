"""Run order for the parallel run (`make test` uses pytest-xdist's worksteal): each worker's share, longest first."""

from __future__ import annotations

import os

import pytest

from tests.run_order import balanced

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
    items[:] = balanced(items, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")), weight)
