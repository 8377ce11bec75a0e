"""The composition root, as a table of contents: where settings, containers, the app and the entry points live."""

# ruff: noqa: I001  (the imports below are kept in reading order, not sorted)
from __future__ import annotations

# Read in this order; each part names the module that holds it. Nothing under domain/, application/ or
# adapters/ imports any of these (tests/unit/test_layering.py and the import-linter contracts say so).
#
# 1. Settings: every environment variable, checked whole when built (README: Configuration).
from composition.config import ExplicitSettings as ExplicitSettings
from composition.config import Settings as Settings

# 2. Containers by concern (dependency-injector), wired to each other in composition/container.py:
#      storage.py    the database engines and repositories (SQL, or memory for DATABASE_URL=memory)
#      fleet.py      what nodes and workers share through Redis (limits, slots, job signals, leases)
#      transport.py  the Socket.IO server, its client manager, recovery, the outbox to clients
#      clients.py    the platforms' APIs and the vision model (or their demo stand-ins), with probes
#      jobs.py       caption jobs (here or on workers), the review queue and publishing
#      use_cases.py  connect, client events, notifications, status, sessions, demo data
#    The root container also declares the lifetimes (database engines, Redis, HTTP sessions, listeners,
#    running jobs) that init_resources() opens and shutdown_resources() closes, each after its users.
from composition.container import Container as Container
from composition.container import build_container as build_container

# 3. Lifecycle: a container's resources opened and closed around a body; publishing; schema upgrades.
from composition.lifecycle import running as running
from composition.lifecycle import start_publishing as start_publishing
from composition.lifecycle import upgrade_database as upgrade_database

# 4. The served app: Socket.IO at /socket.io/, the HTTP API, the pages, the background loops.
from composition.app import build_app as build_app

# 5. Entry points: `serve`, `worker`, the console script (entrypoints.cli:main), a host embedding us.
from entrypoints.serve import serve as serve
from entrypoints.worker import run_worker as run_worker
from entrypoints.cli import main as main
from entrypoints.embedded import embedded as embedded

# 6. A helper for operators and tests: a fresh PLATFORM_TOKEN_KEY (`vedfolnir-realtime keys new`).
from adapters.outbound.crypto import TokenCipher

new_token_key = TokenCipher.new_key
