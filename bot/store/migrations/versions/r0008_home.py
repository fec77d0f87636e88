"""App Home and reminders: people's own defaults, rooms' reminder lead times, and the
reminder schedule.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

`room_reminders` is a schedule table rather than Slack's `chat.scheduleMessage`: a scheduled
Slack message cannot be edited (a moved room would need delete + re-create, racing the send),
lives at most 120 days ahead, and Slack documents dropping scheduled messages that carry
metadata. Rows are claimed under a lease, like the journal's entries, so one replica sends
each reminder; `ix_room_reminders_due` finds what is due without a scan.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision: str | None = "0007"
branch_labels = None
depends_on = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "home_preferences",
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("default_length_minutes", sa.Integer(), nullable=True),
        sa.Column("reminders", sa.Boolean(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "user_id", name="pk_home_preferences"),
    )
    op.create_table(
        "room_reminder_leads",
        sa.Column("room_id", sa.String(64), nullable=False),
        sa.Column("lead_minutes", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("room_id", name="pk_room_reminder_leads"),
    )
    op.create_table(
        "room_reminders",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("room_id", sa.String(64), nullable=False),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("opens_at", _utc(), nullable=False),
        sa.Column("due_at", _utc(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("lease_owner", sa.String(128), nullable=True),
        sa.Column("lease_until", _utc(), nullable=True),
        sa.Column("sent_at", _utc(), nullable=True),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_room_reminders"),
        sa.UniqueConstraint("room_id", "user_id", name="uq_room_reminders_room_id_user_id"),
    )
    op.create_index("ix_room_reminders_due", "room_reminders", ["state", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_room_reminders_due", table_name="room_reminders")
    op.drop_table("room_reminders")
    op.drop_table("room_reminder_leads")
    op.drop_table("home_preferences")
