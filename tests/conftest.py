"""Run order for the parallel run (`make test` uses pytest-xdist): the longest tests start first."""

from __future__ import annotations

import pytest

# Modules whose tests start child processes (nodes, workers, the CLI, node, Chromium, nginx): seconds each. Started
# first, they overlap the many short tests instead of trailing alone at the end. Only the order depends on this list.
LONG_MODULES = frozenset(
    {
        "test_rolling_restart.py",
        "test_nginx.py",
        "test_fleet.py",
        "test_recovery_fleet.py",
        "test_drain_recovery.py",
        "test_inline_fleet_jobs.py",
        "test_packaging.py",
        "test_browser.py",
        "test_flask_browser.py",
        "test_reference_scripts.py",
        "test_cli.py",
        "test_cli_tools.py",
        "test_hostile_memory.py",
        "test_hostile_handshakes.py",
        "test_caption_engine.py",
        "test_publish_platforms.py",
        "test_platform_events.py",
        "test_client_js_refusals.py",
        "test_asyncapi.py",
        "test_flask_sessions.py",
        "test_hostile_inputs.py",
        "test_hostile_doors.py",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.path.name not in LONG_MODULES)  # stable: the order within each group stays
