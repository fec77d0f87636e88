"""Command journal; rooms remember the Slack message that shows them.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-20

Rooms recorded before this revision have no posted message (both new columns stay NULL), which
the Slack layer already treats as "nothing to update".
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision: str | None = "0001"
branch_labels = None
depends_on = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.add_column(sa.Column("message_channel_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("message_ts", sa.String(32), nullable=True))

    op.create_table(
        "journal",
        sa.Column("key", sa.String(36), nullable=False),
        sa.Column("first_sent", _utc(), nullable=False),
        sa.Column(
            "command",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("response_url", sa.Text(), nullable=True),
        sa.Column("response_url_expires_at", _utc(), nullable=False),
        sa.Column("response_url_uses", sa.Integer(), server_default="0", nullable=False),
        sa.Column("accepted_at", _utc(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("room_id", sa.String(64), nullable=True),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("lease_owner", sa.String(128), nullable=True),
        sa.Column("lease_until", _utc(), nullable=True),
        sa.Column("answered_at", _utc(), nullable=True),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_journal"),
    )
    op.create_index("ix_journal_pending", "journal", ["state", "lease_until", "accepted_at"])


def downgrade() -> None:
    op.drop_index("ix_journal_pending", table_name="journal")
    op.drop_table("journal")
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("message_ts")
        batch.drop_column("message_channel_id")
