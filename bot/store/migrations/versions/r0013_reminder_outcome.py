"""A reminder remembers when it was first claimed, and whether an attempt's outcome is unknown.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03

A replica can die after Slack took a reminder's direct message and before it recorded it as
sent. The next claim then finds the lease expired with no `finish` or `release` behind it:
`outcome_unknown` says so (and stays set until the reminder is settled or moved), so the
sender looks in the person's DM for the message (tagged with message metadata) before posting
again. `first_claimed_at` bounds that look (`conversations.history`'s `oldest`). Rows from
before this revision start as "known" with no claim: the old behaviour, at worst a second copy.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision: str | None = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("room_reminders") as batch:
        batch.add_column(sa.Column("first_claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("outcome_unknown", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("room_reminders") as batch:
        batch.drop_column("outcome_unknown")
        batch.drop_column("first_claimed_at")
