"""Review items (generated captions awaiting review and publishing) and each platform's auto-approve setting.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "review_items",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("platform_id", sa.Integer, nullable=False),
        sa.Column("platform_type", sa.String(20), nullable=False),
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("post_id", sa.String(200), nullable=False),
        sa.Column("post_url", sa.Text, nullable=False),
        sa.Column("image_url", sa.Text, nullable=False),
        sa.Column("status_id", sa.String(200), nullable=False),
        sa.Column("media_id", sa.String(200), nullable=False),
        sa.Column("original_description", sa.Text, nullable=True),
        sa.Column("generated_text", sa.Text, nullable=False),
        sa.Column("caption", sa.Text, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("updated_at", _when(), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("reviewed_by", sa.Integer, nullable=True),
        sa.Column("batch_id", sa.String(64), nullable=True),
        sa.Column("claimed_by", sa.String(200), nullable=True),
        sa.Column("claimed_at", _when(), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("error_type", sa.String(100), nullable=True),
        sa.Column("error_message", sa.Text, nullable=True),
        sa.Column("retry_possible", sa.Boolean, nullable=True),
        sa.Column("published_at", _when(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_review_items"),
        sa.UniqueConstraint("job_id", "post_id", name="uq_review_items_job_id_post_id"),
    )
    op.create_index("ix_review_items_status", "review_items", ["status"])
    op.create_index("ix_review_items_batch_id", "review_items", ["batch_id"])
    op.create_index("ix_review_items_user_id_created_at", "review_items", ["user_id", "created_at"])
    op.create_table(
        "review_settings",
        sa.Column("platform_id", sa.Integer, nullable=False),
        sa.Column("auto_approve", sa.Boolean, nullable=False),
        sa.Column("updated_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("platform_id", name="pk_review_settings"),
    )


def downgrade() -> None:
    op.drop_table("review_settings")
    op.drop_index("ix_review_items_user_id_created_at", table_name="review_items")
    op.drop_index("ix_review_items_batch_id", table_name="review_items")
    op.drop_index("ix_review_items_status", table_name="review_items")
    op.drop_table("review_items")
