"""Rooms' calls: the Slack call object (Calls API) and who is in the ACS call.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

`room_calls` keeps the Slack call id of each room registered with `calls.add` and what ACS's
Event Grid events said of the room's call; `call_presence` keeps each identity seen in it, as
of its latest event, and what Slack was told. Both go with their room (ON DELETE CASCADE).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision: str | None = "0008"
branch_labels = None
depends_on = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "room_calls",
        sa.Column("room_id", sa.String(64), nullable=False),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("slack_call_id", sa.String(64), nullable=False),
        sa.Column("registered_at", _utc(), nullable=False),
        sa.Column("slack_ended_at", _utc(), nullable=True),
        sa.Column("acs_call_id", sa.String(512), nullable=True),
        sa.Column("acs_started_at", _utc(), nullable=True),
        sa.Column("acs_ended_at", _utc(), nullable=True),
        sa.Column("acs_event_at", _utc(), nullable=True),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name="fk_room_calls_room_id_rooms", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("room_id", name="pk_room_calls"),
    )
    op.create_table(
        "call_presence",
        sa.Column("room_id", sa.String(64), nullable=False),
        sa.Column("acs_raw_id", sa.String(255), nullable=False),
        sa.Column("slack_user_id", sa.String(32), nullable=True),
        sa.Column("display_name", sa.String(255), nullable=False),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.Column("event_at", _utc(), nullable=False),
        sa.Column("told_slack", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name="fk_call_presence_room_id_rooms", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("room_id", "acs_raw_id", name="pk_call_presence"),
    )


def downgrade() -> None:
    op.drop_table("call_presence")
    op.drop_table("room_calls")
