"""Initial schema: users, sessions, platform connections, caption jobs and results.

Revision ID: 0001
Revises:
Create Date: 2025-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE_JOB_CONDITION = "status IN ('queued', 'running', 'paused')"


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("csrf_token", sa.String(128), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("last_seen_at", _when(), nullable=False),
        sa.Column("expires_at", _when(), nullable=False),
        sa.Column("revoked", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sessions"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_sessions_user_id_users"),
    )
    op.create_index("ix_sessions_user_id", "sessions", ["user_id"])
    op.create_table(
        "platform_connections",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("platform_type", sa.String(20), nullable=False),
        sa.Column("instance_url", sa.String(500), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("last_sync", _when(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_platform_connections"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_platform_connections_user_id_users"),
    )
    op.create_index("ix_platform_connections_user_id", "platform_connections", ["user_id"])
    op.create_table(
        "caption_jobs",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("platform_id", sa.Integer, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("max_posts", sa.Integer, nullable=True),
        sa.Column("total_posts", sa.Integer, nullable=False),
        sa.Column("processed", sa.Integer, nullable=False),
        sa.Column("successful", sa.Integer, nullable=False),
        sa.Column("failed", sa.Integer, nullable=False),
        sa.Column("processing_seconds", sa.Float, nullable=False),
        sa.Column("running_seconds", sa.Float, nullable=False),
        sa.Column("resumed_at", _when(), nullable=True),
        sa.Column("started_at", _when(), nullable=True),
        sa.Column("finished_at", _when(), nullable=True),
        sa.Column("current_post_id", sa.String(200), nullable=True),
        sa.Column("current_post_url", sa.Text, nullable=True),
        sa.Column("pause_reason", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_caption_jobs"),
    )
    op.create_index("ix_caption_jobs_status", "caption_jobs", ["status"])
    op.create_index("ix_caption_jobs_user_id_created_at", "caption_jobs", ["user_id", "created_at"])
    op.create_index(
        "uq_caption_jobs_one_active_per_user",
        "caption_jobs",
        ["user_id"],
        unique=True,
        sqlite_where=sa.text(ACTIVE_JOB_CONDITION),
        postgresql_where=sa.text(ACTIVE_JOB_CONDITION),
    )
    op.create_table(
        "caption_results",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("post_id", sa.String(200), nullable=False),
        sa.Column("post_url", sa.Text, nullable=False),
        sa.Column("image_url", sa.Text, nullable=False),
        sa.Column("caption", sa.Text, nullable=True),
        sa.Column("confidence_score", sa.Float, nullable=True),
        sa.Column("processing_time", sa.Float, nullable=False),
        sa.Column("error_type", sa.String(100), nullable=True),
        sa.Column("error_message", sa.Text, nullable=True),
        sa.Column("created_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_caption_results"),
        sa.ForeignKeyConstraint(
            ["job_id"], ["caption_jobs.id"], name="fk_caption_results_job_id_caption_jobs", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("job_id", "post_id", name="uq_caption_results_job_id_post_id"),
    )


def downgrade() -> None:
    op.drop_table("caption_results")
    op.drop_index("uq_caption_jobs_one_active_per_user", table_name="caption_jobs")
    op.drop_index("ix_caption_jobs_user_id_created_at", table_name="caption_jobs")
    op.drop_index("ix_caption_jobs_status", table_name="caption_jobs")
    op.drop_table("caption_jobs")
    op.drop_index("ix_platform_connections_user_id", table_name="platform_connections")
    op.drop_table("platform_connections")
    op.drop_index("ix_sessions_user_id", table_name="sessions")
    op.drop_table("sessions")
    op.drop_table("users")
