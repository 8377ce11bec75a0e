"""/openapi.json is a valid OpenAPI 3.1 document of every served route, and every status it documents happens."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import pytest
from openapi_spec_validator import validate

from adapters.outbound.crypto import TokenCipher
from domain.health import ComponentHealth, Health
from domain.identity import Role
from tests.integration.harness import Server, serve, settings_for

TOKEN = "test-token"


@pytest.fixture
async def api_server(tmp_path: Path) -> AsyncIterator[Server]:
    settings = settings_for(
        f"sqlite+aiosqlite:///{tmp_path / 'api.db'}", platform_token_key=TokenCipher.new_key(), demo_caption_seconds=0.3
    )
    async with serve(settings) as running:
        yield running


class Recorder:
    """Calls the API and keeps (method, documented template, status, body) of every answer."""

    def __init__(self, server: Server, document: dict[str, Any]) -> None:
        self.url = server.url
        self.document = document
        self.seen: list[tuple[str, str, int, Any]] = []
        self._templates = [(t, re.compile("^" + re.sub(r"\{\w+\}", "[^/]+", t) + "$")) for t in document["paths"]]

    def template(self, path: str) -> str:
        path = path.split("?")[0]
        exact = [t for t, rx in self._templates if t == path]
        if exact:
            return exact[0]
        return next(t for t, rx in self._templates if rx.match(path) and "{" in t)

    async def __call__(
        self, method: str, path: str, body: Any = None, token: str | None = TOKEN, raw: bytes | None = None
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        kwargs: dict[str, Any] = (
            {"data": raw, "headers": {**headers, "Content-Type": "application/json"}}
            if raw
            else {"json": body, "headers": headers}
        )
        async with aiohttp.ClientSession() as http, http.request(method, self.url + path, **kwargs) as answer:
            payload = await answer.json()
            self.seen.append((method, self.template(path), answer.status, payload))
            return answer.status, payload


def resolve(schema: Any, document: dict[str, Any]) -> Any:
    if isinstance(schema, dict):
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[1]
            return resolve(document["components"]["schemas"][name], document)
        return {k: resolve(v, document) for k, v in schema.items()}
    if isinstance(schema, list):
        return [resolve(v, document) for v in schema]
    return schema


async def wait_job(call: Recorder, job_id: str, done: set[str]) -> None:
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        _, job = await call("GET", f"/api/v1/caption-jobs/{job_id}")
        if job["status"] in done:
            return
        assert asyncio.get_running_loop().time() < deadline, job
        await asyncio.sleep(0.1)


async def test_the_openapi_document_is_valid_and_every_documented_status_happens(api_server: Server) -> None:
    server = api_server
    async with aiohttp.ClientSession() as http, http.get(server.url + "/openapi.json") as answer:
        assert answer.status == 200
        document = await answer.json()
    validate(document)  # openapi-spec-validator: a valid OpenAPI 3.1 document
    assert document["openapi"] == "3.1.0"
    undocumented = [
        (p, m) for p, ops in document["paths"].items() for m, op in ops.items() if "UNDOCUMENTED" in op["summary"]
    ]
    assert not undocumented, "served routes missing from OPERATIONS"

    call = Recorder(server, document)
    demo = (await server.container.users().get_by_username("demo")).id
    viewer = (await server.container.add_user()("vic", Role.VIEWER)).id
    viewer_platform = (await server.container.platforms().add(viewer, "vic's", "pixelfed", "https://px.example")).id
    big = b'{"pad": "' + b"x" * 70_000 + b'"}'
    nobody = 99_999

    await call("GET", "/healthz")
    await call("GET", "/readyz")
    probe = server.container.health_probes()[0]
    real = probe.check

    async def broken() -> ComponentHealth:
        return ComponentHealth("database", Health.UNHEALTHY, "down")

    probe.check = broken
    await call("GET", "/readyz")
    probe.check = real

    # Caption jobs: a run to its end (for review items), one cancelled while it runs.
    _, first = await call("POST", "/api/v1/caption-jobs", {"user_id": demo})
    _, theirs = await call("POST", "/api/v1/caption-jobs", {"user_id": viewer})
    await call("POST", "/api/v1/caption-jobs", {"user_id": demo})  # 409: one active job per user
    await call("POST", "/api/v1/caption-jobs", {"user_id": "one"})
    await call("POST", "/api/v1/caption-jobs", {"user_id": nobody})
    await call("POST", "/api/v1/caption-jobs", {"user_id": demo}, token=None)
    await call("POST", "/api/v1/caption-jobs", raw=big)
    await wait_job(call, first["job_id"], {"completed"})
    await wait_job(call, theirs["job_id"], {"completed"})
    _, second = await call("POST", "/api/v1/caption-jobs", {"user_id": demo})
    await call("POST", f"/api/v1/caption-jobs/{second['job_id']}/cancel")
    await call("POST", f"/api/v1/caption-jobs/{second['job_id']}/cancel")  # 409: already ended
    await call("POST", "/api/v1/caption-jobs/nope/cancel")
    await call("POST", "/api/v1/caption-jobs/nope/cancel", token=None)
    await call("GET", "/api/v1/caption-jobs/nope")
    await call("GET", "/api/v1/caption-jobs/nope", token="wrong")

    notification = {"user_id": demo, "title": "t", "message": "m"}
    await call("POST", "/api/v1/notifications", notification)
    await call("POST", "/api/v1/notifications", {**notification, "type": "loud"})
    await call("POST", "/api/v1/notifications", {**notification, "user_id": nobody})
    await call("POST", "/api/v1/notifications", notification, token=None)
    await call("POST", "/api/v1/notifications", raw=big)
    for path, body in (
        ("/api/v1/admin/notifications", {"title": "t", "message": "m"}),
        ("/api/v1/admin/alerts", {"severity": "warning", "component": "database", "title": "t", "message": "m"}),
    ):
        await call("POST", path, body)
        await call("POST", path, {**body, "title": 5})
        await call("POST", path, body, token=None)
        await call("POST", path, raw=big)

    _, session = await call("POST", "/api/v1/sessions", {"username": "demo"})
    await call("POST", "/api/v1/sessions", {"username": "demo", "ttl_seconds": -1})
    await call("POST", "/api/v1/sessions", {"username": "nobody"})
    await call("POST", "/api/v1/sessions", {"username": "demo"}, token=None)
    await call("POST", "/api/v1/sessions", raw=big)
    await call("DELETE", f"/api/v1/sessions/{session['session_id']}")
    await call("DELETE", "/api/v1/sessions/nope")
    await call("DELETE", "/api/v1/sessions/nope", token=None)

    platform = {
        "user_id": demo,
        "name": "p",
        "platform_type": "pixelfed",
        "instance_url": "https://px.example",
        "access_token": "tok",
    }
    await call("POST", "/api/v1/platforms", platform)
    await call("POST", "/api/v1/platforms", {**platform, "platform_type": "myspace"})
    await call("POST", "/api/v1/platforms", {**platform, "user_id": nobody})
    await call("POST", "/api/v1/platforms", platform, token=None)
    await call("POST", "/api/v1/platforms", raw=big)

    _, listed = await call("GET", f"/api/v1/reviews?user_id={demo}")
    _, their_items = await call("GET", f"/api/v1/reviews?user_id={viewer}")
    await call("GET", "/api/v1/reviews?user_id=abc")
    await call("GET", f"/api/v1/reviews?user_id={demo}", token=None)
    items = [i["item_id"] for i in listed["items"]]
    assert len(items) >= 3 and their_items["items"]
    await call("GET", f"/api/v1/reviews/{items[0]}?user_id={demo}")
    await call("GET", f"/api/v1/reviews/{items[0]}?user_id=abc")
    await call("GET", f"/api/v1/reviews/{items[0]}?user_id={viewer}")  # not theirs: 404
    await call("GET", f"/api/v1/reviews/{items[0]}?user_id={demo}", token=None)
    await call("POST", f"/api/v1/reviews/{items[0]}/edit", {"user_id": demo, "caption": "A cat."})
    await call("POST", f"/api/v1/reviews/{items[0]}/reject", {"user_id": demo})
    await call("POST", f"/api/v1/reviews/{items[0]}/reject", {"user_id": demo})  # 409: already rejected
    await call("POST", f"/api/v1/reviews/{items[1]}/approve", {"user_id": demo, "extra": 1})
    await call("POST", f"/api/v1/reviews/{items[1]}/approve", {"user_id": viewer})  # not theirs: 404
    await call("POST", f"/api/v1/reviews/{their_items['items'][0]['item_id']}/approve", {"user_id": viewer})  # 403
    await call("POST", f"/api/v1/reviews/{items[1]}/approve", {"user_id": demo}, token=None)
    await call("POST", f"/api/v1/reviews/{items[1]}/approve", raw=big)
    await call("POST", "/api/v1/reviews/bulk", {"user_id": demo, "action": "approve", "item_ids": items[2:3]})
    await call("POST", "/api/v1/reviews/bulk", {"user_id": demo, "action": "burn", "item_ids": items[2:3]})
    await call(
        "POST", "/api/v1/reviews/bulk", {"user_id": demo, "action": "approve", "item_ids": items[2:3]}, token=None
    )
    await call("POST", "/api/v1/reviews/bulk", raw=big)
    (demo_platform, *_) = await server.container.platforms().for_user(demo)
    settings_path = f"/api/v1/platforms/{demo_platform.id}/review-settings"
    await call("PUT", settings_path, {"user_id": demo, "auto_approve": False})
    await call("PUT", settings_path, {"user_id": demo, "auto_approve": "yes"})
    await call("PUT", f"/api/v1/platforms/{viewer_platform}/review-settings", {"user_id": viewer, "auto_approve": True})
    await call("PUT", "/api/v1/platforms/999999/review-settings", {"user_id": demo, "auto_approve": True})
    await call("PUT", settings_path, {"user_id": demo, "auto_approve": True}, token=None)
    await call("PUT", settings_path, raw=big)

    # Every answer is one the document describes, with a body of the documented shape...
    observed: set[tuple[str, str, str]] = set()
    for method, template, status, body in call.seen:
        responses = document["paths"][template][method.lower()]["responses"]
        assert str(status) in responses, (method, template, status, body)
        schema = resolve(responses[str(status)]["content"]["application/json"]["schema"], document)
        jsonschema.validate(body, schema, cls=jsonschema.Draft202012Validator)
        observed.add((method.lower(), template, str(status)))
    # ...and every status the document promises happened above.
    documented = {
        (method, template, status)
        for template, operations in document["paths"].items()
        for method, operation in operations.items()
        for status in operation["responses"]
        if status != "default"
    }
    assert documented - observed == set()


async def test_a_request_body_is_documented_with_the_schema_its_use_case_validates(api_server: Server) -> None:
    async with aiohttp.ClientSession() as http, http.get(api_server.url + "/openapi.json") as answer:
        document = await answer.json()
    body = document["paths"]["/api/v1/caption-jobs"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["user_id"] and body["additionalProperties"] is False
    assert {"user_id", "platform_id", "max_posts", "reprocess_existing"} <= set(body["properties"])
    validator = jsonschema.Draft202012Validator(body)
    status, _ = await api_server.api("POST", "/api/v1/caption-jobs", {"user_id": 1, "max_posts": 0})
    assert status == 400 and not validator.is_valid({"user_id": 1, "max_posts": 0})
