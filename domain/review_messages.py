"""Payloads of the review and publishing events, and the review item as the HTTP API shows it."""

from __future__ import annotations

import html

from domain.messages import Payload, iso_utc
from domain.review import ReviewItem


def review_item(item: ReviewItem, escape: bool = False) -> Payload:
    """Every field a page needs; strings HTML-escaped for socket events (like every string sent there)."""

    def text(value: str | None) -> str | None:
        return html.escape(value) if escape and value is not None else value

    return {
        "item_id": item.id,
        "user_id": item.user_id,
        "platform_id": item.platform_id,
        "platform_type": item.platform_type.value,
        "job_id": item.job_id,
        "post_id": text(item.post_id),
        "post_url": text(item.post_url),
        "image_url": text(item.image_url),
        "original_description": text(item.original_description),
        "generated_caption": text(item.generated_text),
        "caption": text(item.caption),
        "edited": item.edited,
        "max_length": item.limit,
        "status": item.status.value,
        "version": item.version,
        "reviewed_by": item.reviewed_by,
        "batch_id": item.batch_id,
        "attempts": item.attempts,
        "error_type": item.error_type,
        "error_message": text(item.error_message),
        "retry_possible": item.retry_possible,
        "created_at": iso_utc(item.created_at),
        "updated_at": iso_utc(item.updated_at),
        "published_at": iso_utc(item.published_at) if item.published_at is not None else None,
    }


def review_item_updated(item: ReviewItem, change: str) -> Payload:
    return {"user_id": item.user_id, "change": change, "item": review_item(item, escape=True)}


def caption_published(item: ReviewItem, already_there: bool) -> Payload:
    return {
        "user_id": item.user_id,
        "item_id": item.id,
        "platform_id": item.platform_id,
        "post_id": html.escape(item.post_id),
        "post_url": html.escape(item.post_url),
        "caption": html.escape(item.caption),
        "batch_id": item.batch_id,
        "already_published": already_there,
    }


def caption_publish_failed(item: ReviewItem) -> Payload:
    return {
        "user_id": item.user_id,
        "item_id": item.id,
        "platform_id": item.platform_id,
        "post_id": html.escape(item.post_id),
        "post_url": html.escape(item.post_url),
        "batch_id": item.batch_id,
        "status": item.status.value,
        "error_type": item.error_type,
        "error_message": html.escape(item.error_message or ""),
        "retry_possible": bool(item.retry_possible),
    }


def publish_progress(user_id: int, batch_id: str, counts: dict[str, int]) -> Payload:
    total = sum(counts.values())
    done = counts.get("published", 0) + counts.get("failed", 0) + counts.get("conflict", 0)
    return {
        "user_id": user_id,
        "batch_id": batch_id,
        "total": total,
        "published": counts.get("published", 0),
        "failed": counts.get("failed", 0) + counts.get("conflict", 0),
        "remaining": total - done,
        "progress_percentage": done * 100 // total if total else 100,
    }


def publish_activity(item: ReviewItem) -> Payload:
    """The details of a user_activity_update for admins: which caption went where, and how it went."""
    return {
        "item_id": item.id,
        "platform": item.platform_type.value,
        "platform_id": item.platform_id,
        "post_id": html.escape(item.post_id),
        "batch_id": item.batch_id,
        "status": item.status.value,
        "error_type": item.error_type,
    }
