"""Whose App Home has a view to keep fresh.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03

`home_views` records each person who has opened roombot's Home tab. A room change republishes
only their Homes: a person who never opened the tab has no view to refresh, and publishing one
for every participant of every change cost more than the change itself (benchmark 2).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision: str | None = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "home_views",
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "user_id", name="pk_home_views"),
    )


def downgrade() -> None:
    op.drop_table("home_views")
