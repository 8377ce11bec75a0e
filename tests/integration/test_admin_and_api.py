"""The admin feeds and the HTTP API for host applications, through real clients and real HTTP."""

from __future__ import annotations

from domain.health import ComponentHealth, Health
from tests.integration.harness import Server


async def test_system_status_reports_measured_metrics(server: Server) -> None:
    admin = await server.client(await server.session("admin"), "/admin")
    user = await server.client(await server.session("demo"))
    try:
        # The first status may predate the user's connect (it is sent on a timer): wait for one that counts both.
        socket = await admin.inbox.until(
            "system_status_update",
            lambda s: s["component"] == "websocket_server" and s["metrics"]["active_connections"] == 2,
        )
        assert set(socket) == {"component", "status", "metrics", "timestamp", "message_id"}
        assert socket["status"] == "healthy"
        metrics = socket["metrics"]
        assert metrics["total_connections"] >= 2
        assert metrics["memory_usage"].endswith("MB") and int(metrics["memory_usage"][:-2]) > 10
        assert metrics["cpu_usage"].endswith("%")
        db = await admin.inbox.until("system_status_update", lambda s: s["component"] == "database")
        assert db["status"] == "healthy" and db["metrics"]["latency_ms"] >= 0
    finally:
        await admin.close()
        await user.close()


async def test_a_component_turning_unhealthy_and_back_raises_alerts(server: Server) -> None:
    admin = await server.client(await server.session("admin"), "/admin")
    probe = server.container.health_probes()[0]
    real_check = probe.check
    try:
        await admin.inbox.until("system_status_update", lambda s: s["component"] == "database")

        async def broken() -> ComponentHealth:
            return ComponentHealth("database", Health.UNHEALTHY, "connection refused")

        probe.check = broken
        alert = await admin.inbox.until("admin_alert", lambda a: a["component"] == "database")
        assert set(alert) == {
            "alert_id",
            "severity",
            "component",
            "title",
            "message",
            "recommended_action",
            "timestamp",
            "message_id",
        }
        assert alert["severity"] == "critical" and alert["message"] == "connection refused"
        probe.check = real_check
        recovered = await admin.inbox.until("admin_alert", lambda a: a["component"] == "database")
        assert recovered["severity"] == "info"
    finally:
        probe.check = real_check
        await admin.close()


async def test_user_notification_through_the_api_reaches_only_its_user(server: Server) -> None:
    demo = await server.session("demo")
    other = await server.session("admin")
    client = await server.client(demo)
    bystander = await server.client(other)
    try:
        body = {
            "user_id": demo.user_id,
            "type": "info",
            "title": "Caption Review Available",
            "message": "5 new captions are <b>ready</b>",
            "action_url": "/captions/review",
            "action_text": "Review Now",
            "auto_dismiss": True,
            "dismiss_timeout": 10000,
        }
        status, sent = await server.api("POST", "/api/v1/notifications", body)
        assert status == 202, sent
        got = await client.inbox.next("user_notification")
        assert got == sent
        assert set(got) == {
            "user_id",
            "notification_id",
            "type",
            "title",
            "message",
            "action_url",
            "action_text",
            "auto_dismiss",
            "dismiss_timeout",
            "timestamp",
            "message_id",
        }
        assert got["message"] == "5 new captions are &lt;b&gt;ready&lt;/b&gt;"
        marker = await server.marker(bystander, other.user_id)
        assert bystander.inbox.of("user_notification") == [marker]
    finally:
        await client.close()
        await bystander.close()


async def test_admin_notification_and_alert_through_the_api(server: Server) -> None:
    admin = await server.client(await server.session("admin"), "/admin")
    demo = await server.session("demo")
    user = await server.client(demo)
    try:
        status, note = await server.api(
            "POST",
            "/api/v1/admin/notifications",
            {
                "type": "system_maintenance",
                "priority": "high",
                "title": "Scheduled Maintenance Window",
                "message": "Tonight at 2:00 AM UTC",
                "action_required": False,
            },
        )
        assert status == 202
        got = await admin.inbox.next("admin_notification")
        assert got == note and set(got) == {
            "notification_id",
            "type",
            "priority",
            "title",
            "message",
            "action_required",
            "timestamp",
            "message_id",
        }
        status, alert = await server.api(
            "POST",
            "/api/v1/admin/alerts",
            {
                "severity": "critical",
                "component": "database",
                "title": "Pool exhausted",
                "message": "All connections in use",
                "recommended_action": "Increase pool size",
            },
        )
        assert status == 202
        assert await admin.inbox.until("admin_alert", lambda a: a["alert_id"] == alert["alert_id"]) == alert
        await server.marker(user, demo.user_id)
        assert user.inbox.of("admin_alert") == [] and user.inbox.of("admin_notification") == []
    finally:
        await admin.close()
        await user.close()


async def test_api_refuses_without_the_bearer_token_and_bad_bodies(server: Server) -> None:
    status, body = await server.api("POST", "/api/v1/notifications", {"user_id": 1}, token=None)
    assert status == 401 and body["data"]["error_code"] == "AUTH_REQUIRED"
    status, body = await server.api("POST", "/api/v1/notifications", {"user_id": 1}, token="wrong")
    assert status == 401
    status, body = await server.api("POST", "/api/v1/notifications", {"user_id": 1, "title": "t"})
    assert status == 400 and body["data"]["error_code"] == "INVALID_MESSAGE"
    status, body = await server.api(
        "POST",
        "/api/v1/notifications",
        {"user_id": 1, "title": "t", "message": "m", "action_url": "javascript:alert(1)"},
    )
    assert status == 400 and body["data"]["error_details"]["field"] == "action_url"
    status, body = await server.api(
        "POST",
        "/api/v1/admin/alerts",
        {"severity": "apocalyptic", "component": "database", "title": "t", "message": "m"},
    )
    assert status == 400
    status, body = await server.api("POST", "/api/v1/caption-jobs", {"user_id": 999})
    assert status == 404 and body["data"]["error_code"] == "NOT_FOUND"


async def test_second_job_for_a_user_is_refused(server: Server) -> None:
    session = await server.session("demo")
    status, _ = await server.api("POST", "/api/v1/caption-jobs", {"user_id": session.user_id})
    assert status == 202
    status, body = await server.api("POST", "/api/v1/caption-jobs", {"user_id": session.user_id})
    assert status == 409 and body["data"]["error_code"] == "JOB_ALREADY_ACTIVE"


async def test_sessions_issued_and_revoked_over_http(server: Server) -> None:
    status, issued = await server.api("POST", "/api/v1/sessions", {"username": "demo", "ttl_seconds": 600})
    assert status == 201 and issued["cookie_name"] == "session" and len(issued["session_id"]) >= 22
    session = type("S", (), {"id": issued["session_id"], "csrf_token": issued["csrf_token"]})()
    client = await server.client(session)
    try:
        status, _ = await server.api("DELETE", f"/api/v1/sessions/{issued['session_id']}")
        assert status == 200
        await client.inbox.next("auth_error")
    finally:
        await client.close()
    status, _ = await server.api("DELETE", "/api/v1/sessions/nonexistent")
    assert status == 404


async def test_health_and_readiness(server: Server) -> None:
    status, body = await server.api("GET", "/healthz", token=None)
    assert status == 200 and body["status"] == "ok"
    status, body = await server.api("GET", "/readyz", token=None)
    assert status == 200 and body["components"]["database"]["status"] == "healthy"


async def test_cors_preflight_on_the_host_api(server: Server) -> None:
    import aiohttp

    headers = {"Origin": "http://localhost:5000", "Access-Control-Request-Method": "POST"}
    async with aiohttp.ClientSession() as http:
        async with http.options(f"{server.url}/api/v1/notifications", headers=headers) as answer:
            assert answer.status == 204
            assert answer.headers["Access-Control-Allow-Origin"] == "http://localhost:5000"
            assert "Authorization" in answer.headers["Access-Control-Allow-Headers"]
        async with http.options(
            f"{server.url}/api/v1/notifications", headers={**headers, "Origin": "https://evil.example"}
        ) as answer:
            body = await answer.json()
            assert answer.status == 403 and body["data"]["error_code"] == "CORS_PREFLIGHT_FAILED"
            assert "Access-Control-Allow-Origin" not in answer.headers
        async with http.get(f"{server.url}/healthz", headers={"Origin": "https://evil.example"}) as answer:
            assert "Access-Control-Allow-Origin" not in answer.headers
