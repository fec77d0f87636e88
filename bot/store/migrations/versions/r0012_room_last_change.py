"""Rooms keep the last change their card announces ("Room extended by @ann").

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03

A card redrawn for another reason (a calling event, an admitted knock) keeps the headline the
last change gave it instead of going back to "Room ready". Both columns are written with the
change itself; rooms recorded before this revision keep NULL: the default headline.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision: str | None = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.add_column(sa.Column("last_change_verb", sa.String(16), nullable=True))
        batch.add_column(sa.Column("last_change_by", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("last_change_by")
        batch.drop_column("last_change_verb")
