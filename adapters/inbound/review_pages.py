"""The user page's review calls (cookie session + CSRF): the same operations as the host API, as the signed-in user."""

from __future__ import annotations

from typing import Any

from adapters.inbound.pages import SessionAction
from application.review import ReviewCaptions, ReviewQueue
from domain import review_messages
from domain.errors import DomainError, ErrorCode
from domain.identity import User


def review_session_routes(queue: ReviewQueue, captions: ReviewCaptions) -> list[tuple[str, str, SessionAction]]:
    def as_user(user: User, body: Any) -> Any:
        """The acting user is the session's own; the page may not name another."""
        if isinstance(body, dict) and "user_id" in body:
            raise DomainError(ErrorCode.INVALID_MESSAGE, "The acting user is the signed-in one", field="user_id")
        return {**body, "user_id": user.id} if isinstance(body, dict) else body

    async def listed(user: User, params: dict[str, str], _body: Any) -> tuple[int, dict[str, Any]]:
        # the page shows the signed-in user's own captions (the ones whose events reach it), admins included
        found = await queue.from_request({**params, "user_id": user.id, "owner_id": user.id})
        platforms = await captions.auto_approve_settings(user.id)
        return 200, {"items": [review_messages.review_item(item) for item in found], "platforms": platforms}

    async def acted(user: User, params: dict[str, str], body: Any) -> tuple[int, dict[str, Any]]:
        item = await captions.act(params["action"], params["item_id"], as_user(user, body or {}))
        return 200, review_messages.review_item(item)

    async def bulk(user: User, _params: dict[str, str], body: Any) -> tuple[int, dict[str, Any]]:
        return 202, await captions.bulk_from_request(as_user(user, body))

    async def settings(user: User, params: dict[str, str], body: Any) -> tuple[int, dict[str, Any]]:
        return 200, await captions.set_auto_approve_from_request(int(params["platform_id"]), as_user(user, body))

    return [
        ("GET", "/session/reviews", listed),
        ("PUT", "/session/platforms/{platform_id:[0-9]{1,18}}/review-settings", settings),
        ("POST", "/session/reviews/bulk", bulk),
        ("POST", "/session/reviews/{item_id}/{action:edit|approve|reject|regenerate}", acted),
    ]
