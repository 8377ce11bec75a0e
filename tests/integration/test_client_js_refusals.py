"""static/client.js hands a refused connect to the page the same way in both REFUSAL_MODEs (Chromium)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.integration.processes import child_env, serving
from tests.integration.test_browser import CHROMIUM, ROOT, _ready

SCRIPT = ROOT / "tests" / "browser" / "login_refusal.mjs"


@pytest.mark.parametrize("mode", ["event", "connect_error"])
def test_the_login_page_shows_the_refusal_in_both_refusal_modes(tmp_path: Path, mode: str) -> None:
    missing = _ready()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'r.db'}", "REFUSAL_MODE": mode}
    with serving(env) as server:  # a child `serve`: it allows its own address as an origin
        done = subprocess.run(
            ["node", str(SCRIPT), server.url],
            cwd=ROOT,
            env=child_env({"CHROMIUM": str(CHROMIUM)}),
            capture_output=True,
            text=True,
            timeout=90,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    outcome = json.loads(done.stdout.splitlines()[-1])
    assert outcome["error_code"] == "AUTH_REQUIRED", outcome
    assert "auth_required" in outcome["text"] and outcome["connection"] == "refused", outcome
    assert outcome["page_errors"] == [], outcome
