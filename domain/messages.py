"""Payload builders for every server-to-client event, field by field as the API reference lists them."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

from domain.errors import DomainError, ErrorCode
from domain.identity import User
from domain.jobs import CaptionJob, CaptionResult
from domain.platforms import PlatformConnection
from domain.rate_limit import Decision

Payload = dict[str, Any]


# (whole second, its formatted prefix): most stamps share a second; replaced whole, so threads agree.
_last_second: list[tuple[int, str]] = [(-1, "")]


def iso_utc(epoch_seconds: float) -> str:
    """ISO 8601 in UTC with millisecond precision and a Z suffix."""
    second, milli = divmod(int(epoch_seconds * 1000), 1000)
    cached_second, prefix = _last_second[0]
    if cached_second != second:
        prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        _last_second[0] = (second, prefix)
    return f"{prefix}{milli:03d}Z"


def stamp(payload: Payload, now: float, message_id: str, correlation_id: Any = None) -> Payload:
    """The one stamp every server payload gets: when it was sent, its own id, and (on a reply) the id of what
    it answers. Callers pass their injected clock's time and token source's id (see application/stamping.py)."""
    payload["timestamp"] = iso_utc(now)
    payload["message_id"] = message_id
    if correlation_id is not None:
        payload["correlation_id"] = correlation_id
    return payload


def error(err: DomainError, original_event: str | None, user_id: int | None) -> Payload:
    details: Payload = {"original_event": original_event, "user_id": user_id}
    details.update(err.details)
    return {
        "error_code": err.code.value,
        "error_message": err.message,
        "error_details": details,
        "retry_possible": err.retry_possible,
    }


def rate_limited(decision: Decision, original_event: str | None, user_id: int | None = None) -> Payload:
    """The reference's `rate_limit_exceeded` fields at the top level, in the standard error envelope."""
    limits: Payload = {
        "limit": decision.limit,
        "remaining": decision.remaining,
        "reset_time": iso_utc(decision.reset_at),
    }
    return {
        "error_code": ErrorCode.RATE_LIMIT_EXCEEDED.value,
        "error_message": "Too many messages; wait until reset_time",
        "error_details": {"original_event": original_event, "user_id": user_id, **limits},
        **limits,
        "original_event": original_event,
        "retry_possible": True,
    }


AUTH_REQUIRED_MESSAGE = "Authentication required for WebSocket connection"


def auth_required(redirect_url: str, original_event: str | None = None) -> Payload:
    """The reference's `auth_required` fields (`message`, `redirect_url`) in the standard error envelope."""
    err = DomainError(ErrorCode.AUTH_REQUIRED, AUTH_REQUIRED_MESSAGE)
    return {"message": err.message, **error(err, original_event, None), "redirect_url": redirect_url}


def auth_error(
    err: DomainError, redirect_url: str, original_event: str | None = None, user_id: int | None = None
) -> Payload:
    """The reference's `auth_error` fields (`message`, `error_code`) in the standard error envelope."""
    return {"message": err.message, **error(err, original_event, user_id), "redirect_url": redirect_url}


def connection_refused(err: DomainError) -> Payload:
    """A refused connect that is not about authentication (limits, CSRF, ...): the standard envelope, plus
    `message` (what the stock client shows as err.message) and the details at the top level as well
    (`limit`, `remaining`, `reset_time`, as the reference's rate-limit answer has them)."""
    payload: Payload = {"message": err.message, **error(err, "connect", None)}
    for key, value in err.details.items():
        payload.setdefault(key, value)
    return payload


def job_started(job: CaptionJob, estimated_duration: int) -> Payload:
    return {
        "user_id": job.user_id,
        "job_id": job.id,
        "total_posts": job.total_posts,
        "estimated_duration": estimated_duration,
    }


def job_progress(job: CaptionJob, current_post: int, status: str, eta: int) -> Payload:
    """Progress once post number `current_post` (1-based) reached `status`."""
    return {
        "user_id": job.user_id,
        "job_id": job.id,
        "current_post": current_post,
        "total_posts": job.total_posts,
        "progress_percentage": job.percentage_at(current_post),
        "current_post_id": job.current_post_id,
        "current_post_url": job.current_post_url,
        "status": status,
        "estimated_time_remaining": eta,
    }


def caption_generated(job: CaptionJob, result: CaptionResult) -> Payload:
    return {
        "user_id": job.user_id,
        "job_id": job.id,
        "post_id": result.post_id,
        "post_url": result.post_url,
        "caption": html.escape(result.caption or ""),  # model output: escaped like every string sent to a page
        "confidence_score": result.confidence_score,
        "processing_time": round(result.processing_time, 3),
    }


def job_completed(job: CaptionJob) -> Payload:
    total_time = job.running_seconds
    return {
        "user_id": job.user_id,
        "job_id": job.id,
        "status": job.status.value,
        "total_posts_processed": job.processed,
        "successful_captions": job.successful,
        "failed_captions": job.failed,
        "total_processing_time": round(total_time, 3),
        "average_processing_time": round(total_time / job.processed, 3) if job.processed else 0.0,
    }


def job_error(job: CaptionJob, post_id: str | None, error_type: str, message: str, retry_possible: bool) -> Payload:
    return {
        "user_id": job.user_id,
        "job_id": job.id,
        "post_id": post_id,
        "error_type": error_type,
        "error_message": html.escape(message),
        "retry_possible": retry_possible,
    }


def job_paused(job: CaptionJob) -> Payload:
    return {**caption_status(job.user_id, job), "reason": job.pause_reason}


def caption_status(user_id: int, job: CaptionJob | None) -> Payload:
    """`current_progress` is always an object (zeros without a job); `current_post` as in `caption_progress`."""
    if job is None:
        return {
            "user_id": user_id,
            "is_active": False,
            "job_id": None,
            "status": None,
            "current_progress": {"current_post": 0, "total_posts": 0, "progress_percentage": 0},
        }
    current_post = job.current_post
    return {
        "user_id": user_id,
        "is_active": job.is_active,
        "job_id": job.id,
        "status": job.status.value,
        "current_progress": {
            "current_post": current_post,
            "total_posts": job.total_posts,
            "progress_percentage": job.percentage_at(current_post),
        },
    }


def room_joined(room_name: str) -> Payload:
    return {"room_name": room_name, "success": True, "message": "Successfully joined room"}


def room_left(room_name: str) -> Payload:
    return {"room_name": room_name, "success": True, "message": "Successfully left room"}


def platform_status(platform: PlatformConnection) -> Payload:
    return {
        "user_id": platform.user_id,
        "platform_id": platform.id,
        "platform_name": platform.name,
        "platform_type": platform.platform_type.value,
        "status": platform.status.value,
        "last_sync": iso_utc(platform.last_sync) if platform.last_sync is not None else None,
    }


def sync_progress(platform: PlatformConnection, sync_type: str, current: int, total: int) -> Payload:
    return {
        "user_id": platform.user_id,
        "platform_id": platform.id,
        "sync_type": sync_type,
        "current_item": current,
        "total_items": total,
        "progress_percentage": min(100, current * 100 // total) if total else 100,
    }


def user_notification(fields: Payload, notification_id: str) -> Payload:
    return {
        "user_id": fields["user_id"],
        "notification_id": notification_id,
        "type": fields.get("type", "info"),
        "title": fields["title"],
        "message": fields["message"],
        "action_url": fields.get("action_url"),
        "action_text": fields.get("action_text"),
        "auto_dismiss": fields.get("auto_dismiss", True),
        "dismiss_timeout": fields.get("dismiss_timeout", 10_000),
    }


def admin_notification(fields: Payload, notification_id: str) -> Payload:
    return {
        "notification_id": notification_id,
        "type": fields.get("type", "system_message"),
        "priority": fields.get("priority", "normal"),
        "title": fields["title"],
        "message": fields["message"],
        "action_required": fields.get("action_required", False),
    }


def admin_alert(fields: Payload, alert_id: str) -> Payload:
    return {
        "alert_id": alert_id,
        "severity": fields["severity"],
        "component": fields["component"],
        "title": fields["title"],
        "message": fields["message"],
        "recommended_action": fields.get("recommended_action"),
    }


def system_status(component: str, status: str, metrics: Payload) -> Payload:
    return {"component": component, "status": status, "metrics": metrics}


def user_activity(user: User, activity_type: str, details: Payload) -> Payload:
    return {
        "user_id": user.id,
        "username": user.username,
        "activity_type": activity_type,
        "details": details,
    }


def job_state(job: CaptionJob, results: list[CaptionResult]) -> Payload:
    """A job and every post's outcome, for the host API."""
    return {
        "job_id": job.id,
        "user_id": job.user_id,
        "platform_id": job.platform_id,
        "status": job.status.value,
        "total_posts": job.total_posts,
        "processed": job.processed,
        "successful_captions": job.successful,
        "failed_captions": job.failed,
        "progress_percentage": job.progress_percentage,
        "created_at": iso_utc(job.created_at),
        "started_at": iso_utc(job.started_at) if job.started_at is not None else None,
        "finished_at": iso_utc(job.finished_at) if job.finished_at is not None else None,
        "pause_reason": job.pause_reason,
        "max_posts": job.max_posts,
        "reprocess_existing": job.reprocess_existing,
        "results": [
            {
                "post_id": r.post_id,
                "post_url": r.post_url,
                "image_url": r.image_url,
                "caption": r.caption,
                "confidence_score": r.confidence_score,
                "processing_time": round(r.processing_time, 3),
                "error_type": r.error_type,
                "error_message": r.error_message,
            }
            for r in results
        ],
    }
