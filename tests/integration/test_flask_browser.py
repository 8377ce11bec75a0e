"""The API reference's JavaScript, verbatim, in Chromium on a real Flask + Flask-Login + Flask-WTF host.

The host app (tests/integration/flask_host.py) has its own login form and users table; the service runs
with SESSION_SOURCE=flask on another port. Driven by tests/browser/flask_reference.mjs (playwright-core
with Debian's Chromium, as test_browser.py).
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from domain.access import ADMIN_NAMESPACE
from tests.integration.flask_host import HostApp, UserRole
from tests.integration.harness import serve, settings_for
from tests.integration.processes import child_env
from tests.integration.test_browser import ARTIFACTS, CHROMIUM, ROOT, _ready

SCRIPT = ROOT / "tests" / "browser" / "flask_reference.mjs"
SECRET = "vedfolnir-secret-key"
TOKEN = "flask-browser-token"


async def test_the_reference_examples_work_in_chromium_with_the_flask_login(tmp_path: Path) -> None:
    missing = _ready()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    host_db = tmp_path / "vedfolnir.db"
    host = HostApp(f"sqlite:///{host_db}", SECRET)
    # The service's own tables key platforms and jobs by user id: its demo seed gives user 1 (a reviewer)
    # a demo platform, so the host's user 1 is the one whose job runs.
    assert host.add_user("alice", UserRole.REVIEWER) == 1
    boss = host.add_user("boss", UserRole.ADMIN)
    with host.serving() as flask_url:
        port = flask_url.rsplit(":", 1)[1]
        settings = settings_for(
            f"sqlite+aiosqlite:///{tmp_path / 'realtime.db'}",
            session_source="flask",
            flask_secret_key=SECRET,
            host_database_url=f"sqlite+aiosqlite:///{host_db}",
            socketio_cors_origins=flask_url,
            api_token=TOKEN,
            demo_failure_every=3,  # posts 3 and 6 of 6 fail: the caption_generation_error handler runs
            demo_caption_seconds=0.2,
            session_check_interval=0.5,
            refusal_backoff_max_seconds=1.0,
        )
        async with serve(settings) as server:
            host.realtime_url = server.url
            proc = await asyncio.create_subprocess_exec(
                "node",
                str(SCRIPT),
                flask_url,
                server.url,
                f"http://localhost:{port}",  # the same Flask app, from an origin that is not allowed
                str(ARTIFACTS),
                cwd=ROOT,
                env=child_env({"API_TOKEN": TOKEN, "CHROMIUM": str(CHROMIUM)}),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await asyncio.wait_for(proc.communicate(), 170)
            report = out.decode() + "\n--- stderr\n" + err.decode()
            assert proc.returncode == 0, report
            lines = out.decode().splitlines()
            assert lines[-1] == "OK", report
            steps = {s["step"]: s for s in (json.loads(line) for line in lines if line.startswith("{"))}
            assert steps["client_connected"]["transport"] == "websocket"
            assert steps["caption_events"]["generated"] == 4 and steps["caption_events"]["errors"] == 2
            assert steps["admin_alert_and_activity"]["activity"]
            admins = [c for c in server.container.registry() if c.namespace == ADMIN_NAMESPACE and c.user.id == boss]
            assert admins == []
            assert server.container.security().counts.get("origin_refused", 0) >= 2
