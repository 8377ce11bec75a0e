"""The review queue over the host API and the page calls, with its live events (demo platform, real server)."""

from __future__ import annotations

from typing import Any

import aiohttp

from domain.identity import Role
from tests.integration.harness import Server

ITEM_FIELDS = {
    "item_id",
    "user_id",
    "platform_id",
    "platform_type",
    "job_id",
    "post_id",
    "post_url",
    "image_url",
    "original_description",
    "generated_caption",
    "caption",
    "edited",
    "max_length",
    "status",
    "version",
    "reviewed_by",
    "batch_id",
    "attempts",
    "error_type",
    "error_message",
    "retry_possible",
    "created_at",
    "updated_at",
    "published_at",
}


async def captioned(server: Server, user_id: int, client: Any) -> list[dict[str, Any]]:
    """Runs a demo job to its end; returns the review items it queued, as the host API lists them."""
    status, body = await server.api("POST", "/api/v1/caption-jobs", {"user_id": user_id})
    assert status == 202, body
    await client.inbox.next("caption_generation_completed", timeout=10)
    status, listed = await server.api("GET", f"/api/v1/reviews?user_id={user_id}")
    assert status == 200, listed
    return list(listed["items"])


async def test_captions_wait_for_review_then_publish_live(server: Server) -> None:
    demo = await server.session("demo")
    client = await server.client(demo)
    admin = await server.client(await server.session("admin"), "/admin")
    try:
        items = await captioned(server, demo.user_id, client)
        generated = client.inbox.of("caption_generated")
        # demo_failure_every=5: the 5th of 6 posts fails, so 5 captions wait, newest first, all pending
        assert len(items) == len(generated) == 5
        assert {i["post_id"] for i in items} == {g["post_id"] for g in generated}
        assert all(set(i) == ITEM_FIELDS and i["status"] == "pending" and i["user_id"] == demo.user_id for i in items)
        assert all(i["caption"] == i["generated_caption"] and not i["edited"] for i in items)
        added = [u for u in client.inbox.of("review_item_updated") if u["change"] == "added"]
        assert len(added) == 5 and {u["item"]["item_id"] for u in added} == {i["item_id"] for i in items}
        assert not client.inbox.of("caption_published")  # nothing leaves before a person approves it

        first, second, *rest = items
        path = f"/api/v1/reviews/{first['item_id']}"
        too_long = "x" * (first["max_length"] + 1)
        status, body = await server.api("POST", path + "/edit", {"user_id": demo.user_id, "caption": too_long})
        assert status == 400 and body["data"]["error_code"] == "INVALID_MESSAGE"
        assert body["data"]["error_details"]["limit"] == first["max_length"] == 1000  # the demo platform is Pixelfed
        status, edited = await server.api("POST", path + "/edit", {"user_id": demo.user_id, "caption": "A <b>cat</b>."})
        assert status == 200 and edited["caption"] == "A <b>cat</b>." and edited["edited"] and edited["version"] == 2
        update = await client.inbox.until("review_item_updated", lambda u: u["change"] == "edited")
        assert update["item"]["caption"] == "A &lt;b&gt;cat&lt;/b&gt;."  # escaped like every string sent to a page

        status, approved = await server.api("POST", path + "/approve", {"user_id": demo.user_id})
        assert status == 200 and approved["status"] == "approved"
        published = await client.inbox.until("caption_published", lambda p: p["item_id"] == first["item_id"])
        assert published == published | {"user_id": demo.user_id, "already_published": False, "batch_id": None}
        status, after = await server.api("GET", f"{path}?user_id={demo.user_id}")
        assert status == 200 and after["status"] == "published" and after["published_at"] and after["attempts"] == 1
        writer = server.container.description_writer()
        assert list(writer.descriptions.values()) == ["A <b>cat</b>."]  # the raw text reaches the platform
        activity = await admin.inbox.until("user_activity_update", lambda a: a["activity_type"] == "caption_published")
        assert activity["username"] == "demo" and activity["details"]["item_id"] == first["item_id"]

        status, body = await server.api("POST", path + "/reject", {"user_id": demo.user_id})
        assert status == 409 and body["data"]["error_code"] == "INVALID_REVIEW_STATE"
        status, rejected = await server.api(
            "POST", f"/api/v1/reviews/{second['item_id']}/reject", {"user_id": demo.user_id}
        )
        assert status == 200 and rejected["status"] == "rejected"

        ids = [i["item_id"] for i in rest] + [second["item_id"], first["item_id"], "no-such-item"]
        status, bulk = await server.api(
            "POST", "/api/v1/reviews/bulk", {"user_id": demo.user_id, "action": "approve", "item_ids": ids}
        )
        assert status == 202, bulk
        assert bulk["approved"] == [i["item_id"] for i in rest] + [second["item_id"]]  # a rejected item may be approved
        assert [(r["item_id"], r["error_code"]) for r in bulk["refused"]] == [
            (first["item_id"], "INVALID_REVIEW_STATE"),
            ("no-such-item", "NOT_FOUND"),
        ]
        done = await client.inbox.until(
            "caption_publish_progress", lambda p: p["batch_id"] == bulk["batch_id"] and p["remaining"] == 0, timeout=10
        )
        assert done == done | {"total": 4, "published": 4, "failed": 0, "progress_percentage": 100}
        status, listed = await server.api("GET", f"/api/v1/reviews?user_id={demo.user_id}&status=published")
        assert len(listed["items"]) == 5 and len(writer.descriptions) == 5
    finally:
        await client.close()
        await admin.close()


async def test_roles_decide_who_reviews_what(sqlite_server: Server) -> None:
    server = sqlite_server
    demo = await server.session("demo")
    client = await server.client(demo)
    add = server.container.add_user()
    viewer = await add("vera", Role.VIEWER)
    other = await add("otto", Role.MODERATOR)
    admin = await server.container.users().get_by_username("admin")
    try:
        items = await captioned(server, demo.user_id, client)
        path = f"/api/v1/reviews/{items[0]['item_id']}"
        status, body = await server.api("POST", path + "/approve", {"user_id": viewer.id})
        assert status == 404  # not the viewer's own: as if it did not exist
        status, body = await server.api("GET", f"/api/v1/reviews?user_id={other.id}")
        assert status == 200 and body["items"] == []
        status, body = await server.api("POST", path + "/reject", {"user_id": other.id})
        assert status == 404 and body["data"]["error_code"] == "NOT_FOUND"
        status, body = await server.api("GET", f"/api/v1/reviews?user_id={admin.id}")
        assert len(body["items"]) == len(items)
        status, body = await server.api("GET", f"/api/v1/reviews?user_id={admin.id}&owner_id={other.id}")
        assert status == 200 and body["items"] == []
        status, body = await server.api("GET", f"/api/v1/reviews?user_id={other.id}&owner_id={demo.user_id}")
        assert status == 403 and body["data"]["error_code"] == "AUTH_INSUFFICIENT_PRIVILEGES"
        status, body = await server.api("POST", path + "/reject", {"user_id": admin.id})
        assert status == 200 and body["reviewed_by"] == admin.id
        status, body = await server.api("GET", "/api/v1/reviews?user_id=abc")
        assert status == 400 and body["data"]["error_code"] == "INVALID_MESSAGE"
        status, body = await server.api("POST", path + "/approve", {"user_id": demo.user_id, "extra": 1})
        assert status == 400 and body["data"]["error_code"] == "INVALID_MESSAGE"
        status, body = await server.api("POST", path + "/approve", {"user_id": demo.user_id}, token="wrong")
        assert status == 401
        status, body = await server.api("GET", f"{path}?user_id={demo.user_id}")
        assert body["status"] == "rejected"  # none of the refusals changed anything
    finally:
        await client.close()


async def test_a_viewer_reads_their_own_captions_but_cannot_review_them(sqlite_server: Server) -> None:
    server = sqlite_server
    viewer = await server.container.add_user()("vic", Role.VIEWER)
    platform = await server.container.platforms().add(viewer.id, "vic's", "pixelfed", "https://pixelfed.example")
    session = await server.session("vic")
    client = await server.client(session)
    try:
        items = await captioned(server, viewer.id, client)
        assert items and all(i["platform_id"] == platform.id for i in items)
        status, body = await server.api(
            "POST", f"/api/v1/reviews/{items[0]['item_id']}/approve", {"user_id": viewer.id}
        )
        assert status == 403 and body["data"]["error_code"] == "AUTH_INSUFFICIENT_PRIVILEGES"
        status, body = await server.api(
            "PUT", f"/api/v1/platforms/{platform.id}/review-settings", {"user_id": viewer.id, "auto_approve": True}
        )
        assert status == 403
    finally:
        await client.close()


async def test_auto_approve_publishes_without_review_and_regenerate_replaces_a_caption(sqlite_server: Server) -> None:
    server = sqlite_server
    demo = await server.session("demo")
    client = await server.client(demo)
    try:
        (platform,) = await server.container.platforms().for_user(demo.user_id)
        status, body = await server.api(
            "PUT", f"/api/v1/platforms/{platform.id}/review-settings", {"user_id": demo.user_id, "auto_approve": True}
        )
        assert status == 200 and body == {"platform_id": platform.id, "auto_approve": True}
        items = await captioned(server, demo.user_id, client)
        published = {(await client.inbox.next("caption_published", timeout=10))["item_id"] for _ in items}
        assert published == {i["item_id"] for i in items}
        status, listed = await server.api("GET", f"/api/v1/reviews?user_id={demo.user_id}&status=published")
        assert len(listed["items"]) == len(items) == 5

        await server.api(
            "PUT", f"/api/v1/platforms/{platform.id}/review-settings", {"user_id": demo.user_id, "auto_approve": False}
        )
        items = await captioned(server, demo.user_id, client)
        pending = [i for i in items if i["status"] == "pending"]
        assert len(pending) == 5
        status, again = await server.api(
            "POST", f"/api/v1/reviews/{pending[0]['item_id']}/regenerate", {"user_id": demo.user_id}
        )
        assert status == 200 and again["status"] == "pending" and again["version"] == 2
        assert again["caption"] == again["generated_caption"]
    finally:
        await client.close()


async def test_the_page_calls_act_as_the_signed_in_user(sqlite_server: Server) -> None:
    server = sqlite_server
    demo = await server.session("demo")
    client = await server.client(demo)
    try:
        items = await captioned(server, demo.user_id, client)
        cookies = {server.settings.session_cookie_name: demo.id}
        async with aiohttp.ClientSession(cookies=cookies) as http:
            async with http.get(server.url + "/session/reviews") as refused:
                assert refused.status == 403  # the CSRF header is required, reads included
            headers = {"X-CSRF-Token": demo.csrf_token}
            async with http.get(server.url + "/session/reviews?status=pending", headers=headers) as listed:
                page = await listed.json()
                assert listed.status == 200 and len(page["items"]) == len(items)
            # the page's auto-approve toggle: the user's own platforms, off by default, stored when turned on
            (platform,) = page["platforms"]
            assert platform["auto_approve"] is False and platform["platform_id"] == items[0]["platform_id"]
            settings = f"{server.url}/session/platforms/{platform['platform_id']}/review-settings"
            async with http.put(settings, json={"auto_approve": True}) as no_csrf:
                assert no_csrf.status == 403
            async with http.put(settings, json={"auto_approve": True, "user_id": 1}, headers=headers) as spoofed:
                assert spoofed.status == 400
            async with http.put(settings, json={"auto_approve": True}, headers=headers) as turned_on:
                assert turned_on.status == 200 and (await turned_on.json())["auto_approve"] is True
            async with http.get(server.url + "/session/reviews", headers=headers) as again:
                assert [p["auto_approve"] for p in (await again.json())["platforms"]] == [True]
            async with http.put(settings, json={"auto_approve": False}, headers=headers) as turned_off:
                assert turned_off.status == 200
            target = f"{server.url}/session/reviews/{items[0]['item_id']}/approve"
            async with http.post(target, json={"caption": "Mine.", "user_id": 1}, headers=headers) as spoofed:
                assert spoofed.status == 400
            async with http.post(target, json={"caption": "Mine."}, headers=headers) as approved:
                body = await approved.json()
                assert approved.status == 200 and body["status"] == "approved" and body["caption"] == "Mine."
        await client.inbox.until("caption_published", lambda p: p["item_id"] == items[0]["item_id"])
    finally:
        await client.close()
