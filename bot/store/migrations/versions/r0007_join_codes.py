"""Join codes: one-use, short-lived links from a room's Join button into its call; knocks:
requests to join from people who are not on a room's roster.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

Only the SHA-256 of a code is stored, so a copy of the database lets no one into a call. The
index on (team, user, created) answers the per-user rate limit without a scan; knocks are
found by (team, room, user, created) for theirs.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels = None
depends_on = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "join_codes",
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("room_id", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(255), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("expires_at", _utc(), nullable=False),
        sa.Column("used_at", _utc(), nullable=True),
        sa.PrimaryKeyConstraint("code_hash", name="pk_join_codes"),
    )
    op.create_index("ix_join_codes_user", "join_codes", ["team_id", "user_id", "created_at"])

    op.create_table(
        "knocks",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("room_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("display_name", sa.String(255), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("decided_by", sa.String(32), nullable=True),
        sa.Column("decided_at", _utc(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_knocks"),
    )
    op.create_index("ix_knocks_asker", "knocks", ["team_id", "room_id", "user_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_knocks_asker", table_name="knocks")
    op.drop_table("knocks")
    op.drop_index("ix_join_codes_user", table_name="join_codes")
    op.drop_table("join_codes")
