"""The App Home and reminder tables, as SQLAlchemy Core `Table`s on the store's metadata.

Kept apart from `tables.py` (the ORM mapping of the command path) so the two can change
independently; registered on the same `MetaData`, so `tests/store/test_migrations.py` checks
them against revision 0008 like every other table.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
    false,
)

from bot.store.tables import Base, UTCDateTime

home_preferences = Table(
    "home_preferences",
    Base.metadata,
    Column("team_id", String(32), nullable=False),
    Column("user_id", String(32), nullable=False),
    Column("default_length_minutes", Integer, nullable=True),
    Column("reminders", Boolean, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("team_id", "user_id"),
)

home_views = Table(
    "home_views",
    Base.metadata,
    Column("team_id", String(32), nullable=False),
    Column("user_id", String(32), nullable=False),
    Column("opened_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("team_id", "user_id"),
)
"""People who have opened the Home tab: only their Homes are republished when a room changes."""

room_reminder_leads = Table(
    "room_reminder_leads",
    Base.metadata,
    Column("room_id", String(64), nullable=False),
    Column("lead_minutes", Integer, nullable=False),
    PrimaryKeyConstraint("room_id"),
)

room_reminders = Table(
    "room_reminders",
    Base.metadata,
    Column("id", String(36), nullable=False),
    Column("room_id", String(64), nullable=False),
    Column("team_id", String(32), nullable=False),
    Column("user_id", String(32), nullable=False),
    Column("opens_at", UTCDateTime(), nullable=False),
    Column("due_at", UTCDateTime(), nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("lease_owner", String(128), nullable=True),
    Column("lease_until", UTCDateTime(), nullable=True),
    Column("sent_at", UTCDateTime(), nullable=True),
    Column("updated_at", UTCDateTime(), nullable=False),
    # 0013: bounds the look for an earlier attempt's message, and says when one is needed
    Column("first_claimed_at", UTCDateTime(), nullable=True),
    Column("outcome_unknown", Boolean, nullable=False, server_default=false()),
    PrimaryKeyConstraint("id"),
    UniqueConstraint("room_id", "user_id"),
    Index("ix_room_reminders_due", "state", "due_at"),
)
