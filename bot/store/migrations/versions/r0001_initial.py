"""Identity directory and room registry.

Revision ID: 0001
Revises:
Create Date: 2025-01-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels = None
depends_on = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "identities",
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("slack_user_id", sa.String(32), nullable=False),
        sa.Column("acs_raw_id", sa.String(255), nullable=False),
        sa.Column("source", sa.String(16), server_default="provisioned", nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "slack_user_id", name="pk_identities"),
        sa.UniqueConstraint("acs_raw_id", name="uq_identities_acs_raw_id"),
    )
    op.create_table(
        "rooms",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("creator_id", sa.String(32), nullable=False),
        sa.Column("valid_from", _utc(), nullable=False),
        sa.Column("valid_until", _utc(), nullable=False),
        sa.Column("pstn_dial_out", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_rooms"),
    )
    op.create_index("ix_rooms_channel", "rooms", ["team_id", "channel_id", "state", "valid_from"])
    op.create_table(
        "room_participants",
        sa.Column("room_id", sa.String(64), nullable=False),
        sa.Column("slack_user_id", sa.String(32), nullable=False),
        sa.Column("acs_raw_id", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.ForeignKeyConstraint(
            ["room_id"],
            ["rooms.id"],
            name="fk_room_participants_room_id_rooms",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("room_id", "slack_user_id", name="pk_room_participants"),
        sa.UniqueConstraint(
            "room_id", "acs_raw_id", name="uq_room_participants_room_id_acs_raw_id"
        ),
    )


def downgrade() -> None:
    op.drop_table("room_participants")
    op.drop_index("ix_rooms_channel", table_name="rooms")
    op.drop_table("rooms")
    op.drop_table("identities")
