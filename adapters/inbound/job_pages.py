"""The user page's read of its own caption job with every post's outcome: how a page resyncs after a fresh reconnect."""

from __future__ import annotations

from typing import Any

from adapters.inbound.pages import SessionAction
from application.job_admin import GetCaptionJob
from domain.errors import DomainError, ErrorCode
from domain.identity import User


def job_session_routes(get_job: GetCaptionJob) -> list[tuple[str, str, SessionAction]]:
    async def read(user: User, params: dict[str, str], _body: Any) -> tuple[int, dict[str, Any]]:
        job = await get_job(params["job_id"])
        if job["user_id"] != user.id:  # another user's job does not exist, as far as this page knows
            raise DomainError(ErrorCode.NOT_FOUND, "No such caption job", job_id=params["job_id"][:100])
        return 200, job

    return [("GET", "/session/caption-jobs/{job_id}", read)]
