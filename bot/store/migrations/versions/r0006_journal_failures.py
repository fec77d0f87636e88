"""Journal entries count the unexpected failures of their work, so retrying them can end.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

Entries journalled before this revision start at 0 failures (the server default).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("journal") as batch:
        batch.add_column(sa.Column("failures", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("journal") as batch:
        batch.drop_column("failures")
