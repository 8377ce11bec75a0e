"""Caption jobs count their runs that stored nothing, so a job that keeps dying is failed, not re-run forever.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("caption_jobs") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")))


def downgrade() -> None:
    with op.batch_alter_table("caption_jobs") as batch:
        batch.drop_column("attempts")
