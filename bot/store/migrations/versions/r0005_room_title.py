"""Rooms keep a title ("Design review"): ACS Rooms have no such field.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

The title heads the room's card, `/room list`, the join page and every later message about the
room; `/room rename` changes it. At most 100 characters, as the parser allows. Rooms recorded
before this revision keep NULL: no title.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.add_column(sa.Column("title", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("title")
