"""Heartbeat: the row `/healthz` writes to prove the database still takes writes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

A read that succeeds says nothing about writes: a PostgreSQL server that became a read-only
standby after a failover, or a full disk, still answers `SELECT 1`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "heartbeat",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("replica", sa.String(128), nullable=False),
        sa.Column("beat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_heartbeat"),
    )


def downgrade() -> None:
    op.drop_table("heartbeat")
