"""The ORM mapping of roombot's tables. Only `bot.store` imports this module.

The migrations under `migrations/versions/` are the source of truth for the schema and do not
import these classes; `tests/store/test_migrations.py` checks the two agree on both engines.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Named constraints, so SQLite batch migrations can find and alter them later."""


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every engine.

    PostgreSQL stores `timestamptz`; SQLite stores the UTC wall time as text and gives it back
    naive, so UTC is re-attached here. A naive value on the way in is refused, not guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} given to the store")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


JSONDocument = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: dict[Any, Any] = {datetime: UTCDateTime()}  # noqa: RUF012


class IdentityRow(Base):
    __tablename__ = "identities"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    slack_user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    acs_raw_id: Mapped[str] = mapped_column(String(255), unique=True)
    source: Mapped[str] = mapped_column(String(16), server_default="provisioned")
    created_at: Mapped[datetime]


class RoomRow(Base):
    __tablename__ = "rooms"
    __table_args__ = (Index("ix_rooms_channel", "team_id", "channel_id", "state", "valid_from"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    creator_id: Mapped[str] = mapped_column(String(32))
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime]
    pstn_dial_out: Mapped[bool] = mapped_column(Boolean)
    tz: Mapped[str | None] = mapped_column(String(64))
    """The creator's IANA zone: the fallback text of the room's dates (NULL before 0003)."""
    title: Mapped[str | None] = mapped_column(String(100))
    """The room's title, which ACS does not keep (NULL: none, and before 0005)."""
    message_channel_id: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    last_change_verb: Mapped[str | None] = mapped_column(String(16))
    """The last change the card announces (`extend`…); NULL: none yet, and before 0012."""
    last_change_by: Mapped[str | None] = mapped_column(String(32))
    """Who made it (a Slack user id)."""
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    participants: Mapped[list[ParticipantRow]] = relationship(
        back_populates="room",
        cascade="all, delete-orphan",
        order_by="ParticipantRow.slack_user_id",
        lazy="raise",
    )


class ParticipantRow(Base):
    __tablename__ = "room_participants"
    __table_args__ = (UniqueConstraint("room_id", "acs_raw_id"),)

    room_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True
    )
    slack_user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    acs_raw_id: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))

    room: Mapped[RoomRow] = relationship(back_populates="participants", lazy="raise")


class JournalRow(Base):
    __tablename__ = "journal"
    __table_args__ = (Index("ix_journal_pending", "state", "lease_until", "accepted_at"),)

    key: Mapped[str] = mapped_column(String(36), primary_key=True)
    first_sent: Mapped[datetime]
    command: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    response_url: Mapped[str | None] = mapped_column(Text)
    response_url_expires_at: Mapped[datetime]
    response_url_uses: Mapped[int] = mapped_column(Integer, server_default="0")
    accepted_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16))
    room_id: Mapped[str | None] = mapped_column(String(64))
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    failures: Mapped[int] = mapped_column(Integer, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class HeartbeatRow(Base):
    """One row, rewritten by every health check: proof that the database takes writes."""

    __tablename__ = "heartbeat"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    replica: Mapped[str] = mapped_column(String(128))
    beat_at: Mapped[datetime]


class JoinCodeRow(Base):
    __tablename__ = "join_codes"
    __table_args__ = (Index("ix_join_codes_user", "team_id", "user_id", "created_at"),)

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    room_id: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class KnockRow(Base):
    __tablename__ = "knocks"
    __table_args__ = (Index("ix_knocks_asker", "team_id", "room_id", "user_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    room_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(32))
    display_name: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    decided_by: Mapped[str | None] = mapped_column(String(32))
    decided_at: Mapped[datetime | None]


# slack-sdk's own tables for multi-workspace installs (migration 0008), read and written only
# by its SQLAlchemy installation and OAuth state stores (`bot.slack.install`). Built here by
# the library's own functions, so `tests/store/test_migrations.py` notices if the migration and
# the library ever disagree.
SLACK_INSTALLATIONS = SQLAlchemyInstallationStore.build_installations_table(
    Base.metadata, "slack_installations"
)
SLACK_BOTS = SQLAlchemyInstallationStore.build_bots_table(Base.metadata, "slack_bots")
SLACK_OAUTH_STATES = SQLAlchemyOAuthStateStore.build_oauth_states_table(
    Base.metadata, "slack_oauth_states"
)
# The App Home and reminder tables live in their own module, on this metadata.
from bot.store import home_tables as _home_tables  # noqa: E402, F401
