"""/asyncapi.json: a valid AsyncAPI 3.0 document (the official parser says so) of every event, rendered at /docs/events."""

from __future__ import annotations

import asyncio
import filecmp
import json
import shutil
import subprocess
from pathlib import Path

import aiohttp
import pytest

from domain import events
from domain.event_catalogue import CLIENT_EVENTS, SERVER_EVENTS
from tests.integration.emitted import RECORDED, violations
from tests.integration.harness import Server

ROOT = Path(__file__).resolve().parents[2]
VENDORED = ROOT / "adapters" / "inbound" / "static" / "vendor" / "asyncapi"
PACKAGE = ROOT / "node_modules" / "@asyncapi" / "react-component"


async def fetch(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as answer:
        return answer.status, answer.headers.get("Content-Type", ""), await answer.text()


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
async def test_the_official_parser_accepts_the_served_document(sqlite_server: Server, tmp_path: Path) -> None:
    if not (ROOT / "node_modules" / "@asyncapi" / "parser").is_dir():
        pytest.fail("node_modules/@asyncapi/parser is missing: run make install (npm ci)")
    status, content_type, text = await fetch(sqlite_server.url + "/asyncapi.json")
    assert status == 200 and content_type.startswith("application/json")
    document = json.loads(text)
    path = tmp_path / "asyncapi.json"
    path.write_text(text)
    done = await asyncio.to_thread(
        subprocess.run,
        ["node", str(ROOT / "tests" / "asyncapi" / "validate.mjs"), str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    report = json.loads(done.stdout)
    assert done.returncode == 0 and report["parsed"] and report["version"] == "3.0.0", done.stdout + done.stderr
    assert not [d for d in report["diagnostics"] if d["severity"] <= 1], report  # no errors, no warnings

    # Generated from the catalogue: every event of it, on its namespaces, with its direction.
    user, admin = document["channels"]["userNamespace"], document["channels"]["adminNamespace"]
    assert user["address"] == "/" and admin["address"] == "/admin"
    for spec in (*SERVER_EVENTS, *CLIENT_EVENTS):
        for namespace in spec.namespaces:
            channel = "userNamespace" if namespace == "/" else "adminNamespace"
            assert spec.name in document["channels"][channel]["messages"]
            operation = document["operations"][
                f"{'send' if spec.sender == 'server' else 'receive'}_{spec.name}_{channel}"
            ]
            assert operation["action"] == ("send" if spec.sender == "server" else "receive")
    join = document["components"]["messages"][events.JOIN_ROOM]["payload"]
    assert join["required"] == ["room_name"] and join["properties"]["room_name"]["maxLength"] == 100
    assert "system_status_update" in admin["messages"] and "system_status_update" not in user["messages"]


async def test_payloads_of_this_run_so_far_match_and_a_wrong_one_is_caught(sqlite_server: Server) -> None:
    user = await sqlite_server.client(await sqlite_server.session("demo"))
    try:
        await user.call("request_caption_status", {"message_id": "m-1"})
        await user.call("no_such_event", {})
    finally:
        await user.close()
    mine = [r for r in RECORDED if r[3].endswith("test_payloads_of_this_run_so_far_match_and_a_wrong_one_is_caught")]
    assert {r[1] for r in mine} >= {"caption_status_response", "error"}
    assert violations(mine) == []
    status_payload = next(r for r in mine if r[1] == "caption_status_response")
    broken = [
        ("/", "caption_status_response", {**status_payload[2], "is_active": "yes"}, "t"),
        ("/admin", "caption_progress", {}, "t"),
    ]
    problems = violations(broken)
    assert len(problems) == 2 and "is_active" in problems[0] and "not an event of namespace '/admin'" in problems[1]


async def test_the_events_page_renders_from_the_packaged_copy(sqlite_server: Server) -> None:
    status, content_type, page = await fetch(sqlite_server.url + "/docs/events")
    assert status == 200 and content_type.startswith("text/html")
    assert "/static/vendor/asyncapi/index.js" in page and "https://" not in page
    for asset in (
        "/static/vendor/asyncapi/index.js",
        "/static/vendor/asyncapi/default.min.css",
        "/static/docs/events.js",
    ):
        status, _, body = await fetch(sqlite_server.url + asset)
        assert status == 200 and len(body) > 100, asset


@pytest.mark.skipif(not PACKAGE.is_dir(), reason="node_modules/@asyncapi/react-component is not installed")
def test_the_vendored_renderer_is_the_pinned_npm_package() -> None:
    pairs = {
        "index.js": "browser/standalone/index.js",
        "index.js.LICENSE.txt": "browser/standalone/index.js.LICENSE.txt",
        "default.min.css": "styles/default.min.css",
        "LICENSE": "LICENSE",
    }
    for vendored, original in pairs.items():
        assert filecmp.cmp(VENDORED / vendored, PACKAGE / original, shallow=False), (
            f"run make vendor-asyncapi ({vendored})"
        )


@pytest.mark.skipif(
    not Path("/usr/bin/chromium").exists() or not (ROOT / "node_modules" / "playwright-core").is_dir(),
    reason="Chromium or playwright-core missing: run .ci/browser.sh",
)
async def test_the_events_page_renders_in_chromium_without_a_cdn(sqlite_server: Server) -> None:
    (ROOT / "artifacts").mkdir(exist_ok=True)
    done = await asyncio.to_thread(
        subprocess.run,
        [
            "node",
            str(ROOT / "tests" / "browser" / "events_page.mjs"),
            sqlite_server.url,
            str(ROOT / "artifacts" / "events-page.png"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["rendered"] and not report["errors"] and not report["requests"], report
