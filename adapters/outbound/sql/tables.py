"""The schema, in SQLAlchemy Core; migrations/versions must build exactly this."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# The partial index below spells the active statuses out: it is DDL, frozen in the migration.
ACTIVE_JOB_CONDITION = "status IN ('queued', 'running', 'paused')"


def _when() -> DateTime:
    return DateTime(timezone=True)


users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(100), nullable=False, unique=True),
    Column("role", String(20), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", _when(), nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("csrf_token", String(128), nullable=False),
    Column("created_at", _when(), nullable=False),
    Column("last_seen_at", _when(), nullable=False),
    Column("expires_at", _when(), nullable=False),
    Column("revoked", Boolean, nullable=False),
)

platform_connections = Table(
    "platform_connections",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("platform_type", String(20), nullable=False),
    Column("instance_url", String(500), nullable=False),
    Column("status", String(20), nullable=False),
    Column("last_sync", _when(), nullable=True),
)

caption_jobs = Table(
    "caption_jobs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("user_id", Integer, nullable=False),
    Column("platform_id", Integer, nullable=False),
    Column("status", String(20), nullable=False, index=True),
    Column("created_at", _when(), nullable=False),
    Column("max_posts", Integer, nullable=True),
    Column("reprocess_existing", Boolean, nullable=False, server_default=false()),
    Column("total_posts", Integer, nullable=False),
    Column("processed", Integer, nullable=False),
    Column("successful", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("processing_seconds", Float, nullable=False),
    Column("running_seconds", Float, nullable=False),
    Column("resumed_at", _when(), nullable=True),
    Column("started_at", _when(), nullable=True),
    Column("finished_at", _when(), nullable=True),
    Column("current_post_id", String(200), nullable=True),
    Column("current_post_url", Text, nullable=True),
    Column("pause_reason", Text, nullable=True),
    # runs begun since the job last stored a post (see JobRepository.begin_attempt)
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Index("ix_caption_jobs_user_id_created_at", "user_id", "created_at"),
    # One queued/running/paused job per user, enforced by the database itself.
    Index(
        "uq_caption_jobs_one_active_per_user",
        "user_id",
        unique=True,
        sqlite_where=text(ACTIVE_JOB_CONDITION),
        postgresql_where=text(ACTIVE_JOB_CONDITION),
    ),
)

caption_results = Table(
    "caption_results",
    metadata,
    # A surrogate key only to keep results in insertion order.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(64), ForeignKey("caption_jobs.id", ondelete="CASCADE"), nullable=False),
    Column("post_id", String(200), nullable=False),
    Column("post_url", Text, nullable=False),
    Column("image_url", Text, nullable=False),
    Column("caption", Text, nullable=True),
    Column("confidence_score", Float, nullable=True),
    Column("processing_time", Float, nullable=False),
    Column("error_type", String(100), nullable=True),
    Column("error_message", Text, nullable=True),
    Column("created_at", _when(), nullable=False),
    UniqueConstraint("job_id", "post_id"),
)


# An access token per platform connection, encrypted at rest (adapters/outbound/crypto.py).
platform_credentials = Table(
    "platform_credentials",
    metadata,
    Column("platform_id", Integer, ForeignKey("platform_connections.id"), primary_key=True),
    Column("token_ciphertext", Text, nullable=False),
    Column("updated_at", _when(), nullable=False),
)


# Generated captions under review and on their way to the platform (domain/review.py); `version` guards every write.
review_items = Table(
    "review_items",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("user_id", Integer, nullable=False),
    Column("platform_id", Integer, nullable=False),
    Column("platform_type", String(20), nullable=False),
    Column("job_id", String(64), nullable=False),
    Column("post_id", String(200), nullable=False),
    Column("post_url", Text, nullable=False),
    Column("image_url", Text, nullable=False),
    Column("status_id", String(200), nullable=False),
    Column("media_id", String(200), nullable=False),
    Column("original_description", Text, nullable=True),
    Column("generated_text", Text, nullable=False),
    Column("caption", Text, nullable=False),
    Column("status", String(20), nullable=False, index=True),
    Column("created_at", _when(), nullable=False),
    Column("updated_at", _when(), nullable=False),
    Column("version", Integer, nullable=False),
    Column("reviewed_by", Integer, nullable=True),
    Column("batch_id", String(64), nullable=True, index=True),
    Column("claimed_by", String(200), nullable=True),
    Column("claimed_at", _when(), nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("error_type", String(100), nullable=True),
    Column("error_message", Text, nullable=True),
    Column("retry_possible", Boolean, nullable=True),
    Column("published_at", _when(), nullable=True),
    Index("ix_review_items_user_id_created_at", "user_id", "created_at"),
    UniqueConstraint("job_id", "post_id"),
)

review_settings = Table(
    "review_settings",
    metadata,
    Column("platform_id", Integer, primary_key=True),
    Column("auto_approve", Boolean, nullable=False),
    Column("updated_at", _when(), nullable=False),
)
