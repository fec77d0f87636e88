"""Rooms keep the time zone of the person who created them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

A room's card and `/room list` write the fallback text of their `<!date>` tokens (what a
client without them, a notification or the console shows) in this zone, so it does not turn
to UTC after a restart empties the cache of people's zones. Rooms recorded before this
revision keep NULL: their fallback is written in the reader's zone, or UTC, as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.add_column(sa.Column("tz", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("tz")
