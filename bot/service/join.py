"""JoinService: personal join links (one-use codes) and the ACS tokens they are exchanged for.

A click on a room's Join button mints a random code bound to workspace, person and room
(`mint`); the person's browser exchanges it once for an ACS `voip` token for the identity
roombot keeps for them (`redeem`). The room is checked at both moments, because minutes pass
between them: it must still exist, still hold the person, and not have closed.

Why not Microsoft's samples' way: the hero sample hands any caller a new identity with a role
of their choosing, and the virtual-visits sample puts the ACS id in the link, so the link is
the password. Here the link carries neither, works once, for five minutes, for one person.
"""

from __future__ import annotations

import logging
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.acs import AcsError, AcsResponseError, IdentityClient, RoomNotFound, RoomsClient
from bot.domain import (
    JoinGrant,
    Knock,
    KnockState,
    ParticipantRecord,
    RedeemFailure,
    Role,
    RoomRecord,
    RoomState,
)
from bot.service.identities import UserIdentities
from bot.service.room_watch import RoomWatch
from bot.store.store import Store

logger = logging.getLogger("roombot.join")

CODE_LIFETIME = timedelta(minutes=5)
CODE_BYTES = 24
"""192 random bits per code (the issue asks for at least 128), url-safe base64: 32 characters."""

MINT_LIMIT = 10
MINT_WINDOW = timedelta(minutes=10)
"""At most MINT_LIMIT codes per person per MINT_WINDOW; each code buys at most one token, so
this bounds tokens too. Counted in the database, so it holds across replicas."""

TOKEN_MINUTES = (60, 1440)
"""The token lifetimes ACS accepts, in minutes."""

VOIP_SCOPE = "voip"

KNOCK_AGAIN_AFTER = timedelta(minutes=10)
"""One knock per person and room in this time: a second one says the first is being asked."""
KNOCK_LIMIT = 5
KNOCK_WINDOW = timedelta(hours=1)
"""At most KNOCK_LIMIT knocks per person per KNOCK_WINDOW, on all rooms together."""


class JoinRefused(Exception):
    """A join that cannot go ahead: a stable *code*, words for the person, an HTTP status."""

    def __init__(self, code: str, message: str, *, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class NotInvited(JoinRefused):
    """The person is not on the room's roster (the Slack side offers to knock)."""


@dataclass(frozen=True, slots=True)
class JoinLink:
    """A personal link just minted, and what to tell its owner about it."""

    url: str
    room: RoomRecord
    role: Role
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class KnockSent:
    """A knock recorded; *deciders* (creator and presenters) are to be asked."""

    knock: Knock
    room: RoomRecord
    deciders: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class KnockDecided:
    """The outcome of pressing Admit or Deny on a knock.

    *first* is False when someone else had decided it already (then *knock* says how).
    *room* is the room after an admission, and *link* the person's personal link into it.
    """

    knock: Knock
    first: bool
    room: RoomRecord | None = None
    link: JoinLink | None = None


@dataclass(frozen=True, slots=True)
class JoinSession:
    """What the join page needs to enter the call; `token` is a secret, never logged."""

    token: str
    expires_on: datetime
    acs_user_id: str
    room_id: str
    role: Role
    display_name: str
    valid_from: datetime
    valid_until: datetime
    title: str | None = None

    def to_json(self) -> dict[str, str | None]:
        return {
            "token": self.token,
            "expiresOn": _iso(self.expires_on),
            "userId": self.acs_user_id,
            "roomId": self.room_id,
            "role": self.role.value,
            "displayName": self.display_name,
            "validFrom": _iso(self.valid_from),
            "validUntil": _iso(self.valid_until),
            "title": self.title,
        }

    def __repr__(self) -> str:  # the token stays out of every repr and log line
        return f"JoinSession(room_id={self.room_id!r}, role={self.role.value!r})"


class JoinService:
    """Mints join codes and redeems them for ACS tokens."""

    def __init__(
        self,
        *,
        store: Store,
        identities: IdentityClient,
        user_identities: UserIdentities,
        rooms: RoomsClient,
        may_change: Callable[[RoomRecord, str], bool],
        public_url: str,
        clock: Callable[[], datetime] | None = None,
        new_code: Callable[[], str] | None = None,
        watch: RoomWatch | None = None,
    ) -> None:
        self._store = store
        self._watch = watch
        self._identities = identities
        self._user_identities = user_identities
        self._rooms = rooms
        self._may_change = may_change
        self._public_url = public_url.rstrip("/")
        self._clock = clock or (lambda: datetime.now(UTC))
        self._new_code = new_code or (lambda: secrets.token_urlsafe(CODE_BYTES))

    @property
    def public_url(self) -> str:
        return self._public_url

    async def mint(
        self, *, team_id: str, user_id: str, room_id: str, display_name: str
    ) -> JoinLink:
        """A personal link for *user_id* into *room_id*; JoinRefused (NotInvited) otherwise."""
        now = self._clock()
        room = await self._room(team_id, room_id, now)
        participant = room.participant(user_id)
        if participant is None:
            raise NotInvited(
                "not_invited",
                f"You are not on room `{room_id}`'s list of participants.",
                status=403,
            )
        recent = await self._store.join_codes.minted_since(team_id, user_id, now - MINT_WINDOW)
        if recent >= MINT_LIMIT:
            raise JoinRefused(
                "rate_limited",
                f"You asked for {recent} join links in the last "
                f"{int(MINT_WINDOW.total_seconds() // 60)} minutes; wait a few minutes, then "
                "press Join again.",
                status=429,
            )
        code = self._new_code()
        expires_at = now + CODE_LIFETIME
        await self._store.join_codes.add(
            code,
            JoinGrant(
                team_id=team_id,
                user_id=user_id,
                room_id=room_id,
                display_name=display_name,
                expires_at=expires_at,
            ),
            now=now,
        )
        return JoinLink(
            url=f"{self._public_url}/join/{code}",
            room=room,
            role=participant.role,
            expires_at=expires_at,
        )

    async def redeem(self, code: str) -> JoinSession:
        """Use *code* up and mint the person's ACS token; JoinRefused saying why not."""
        now = self._clock()
        grant = await self._store.join_codes.redeem(code, now=now)
        if isinstance(grant, RedeemFailure):
            code_name, words = _CODE_REFUSALS[grant]
            raise JoinRefused(code_name, words, status=404 if code_name == "code_unknown" else 410)
        room = await self._room(grant.team_id, grant.room_id, now, other_team_code=True)
        participant = room.participant(grant.user_id)
        if participant is None:
            raise JoinRefused(
                "not_invited",
                "You are no longer a participant of this room. Ask its creator or a presenter "
                "to add you again.",
                status=403,
            )
        minutes = token_minutes(now, room.valid_until)
        try:
            issued = await self._identities.get_token(
                participant.acs_raw_id, [VOIP_SCOPE], expires_in_minutes=minutes
            )
        except AcsResponseError as exc:
            logger.warning("ACS refused a join token: %s %s", exc.status, exc.code)
            raise JoinRefused(
                "acs_refused",
                "Azure Communication Services would not issue your call token "
                f"({exc.reason}). Press Join in Slack again; if it keeps failing, tell an admin.",
                status=502,
            ) from exc
        except AcsError as exc:
            raise JoinRefused(
                "acs_unavailable",
                "Azure Communication Services did not answer in time. Press Join in Slack "
                "again in a minute for a new link.",
                status=503,
            ) from exc
        return JoinSession(
            token=issued.token,
            expires_on=issued.expires_on,
            acs_user_id=participant.acs_raw_id,
            room_id=room.room_id,
            role=participant.role,
            display_name=grant.display_name,
            valid_from=room.valid_from,
            valid_until=room.valid_until,
            title=room.title,
        )

    # --- knocks: for people who are not on the roster -----------------------------------

    async def knock(
        self, *, team_id: str, user_id: str, room_id: str, display_name: str
    ) -> KnockSent:
        """Record a request to join; JoinRefused `knock_limited` when asked too often."""
        now = self._clock()
        room = await self._room(team_id, room_id, now)
        latest = await self._store.knocks.latest(team_id, room_id, user_id)
        if latest is not None and now - latest.created_at < KNOCK_AGAIN_AFTER:
            minutes = int((now - latest.created_at).total_seconds() // 60)
            ago = "just now" if minutes < 1 else f"{minutes} minute{'s' * (minutes != 1)} ago"
            if latest.state is KnockState.PENDING:
                words = (
                    "its creator and presenters have your request and roombot will message "
                    "you when one of them answers."
                )
            else:
                wait = int(KNOCK_AGAIN_AFTER.total_seconds() // 60)
                words = f"it was answered; you can ask again {wait} minutes after asking."
            raise JoinRefused(
                "knock_limited",
                f"You asked to join room `{room_id}` {ago}: {words}",
                status=429,
            )
        if await self._store.knocks.count_since(team_id, user_id, now - KNOCK_WINDOW) >= (
            KNOCK_LIMIT
        ):
            raise JoinRefused(
                "knock_limited",
                f"You asked to join {KNOCK_LIMIT} rooms in the last hour; wait a while before "
                "asking again, or ask a room's creator to add you.",
                status=429,
            )
        knock = await self._store.knocks.add(
            team_id=team_id, room_id=room_id, user_id=user_id, display_name=display_name, now=now
        )
        presenters = [p.slack_user_id for p in room.participants if p.role is Role.PRESENTER]
        deciders = dict.fromkeys([room.creator_id, *presenters])
        deciders.pop(user_id, None)
        return KnockSent(knock=knock, room=room, deciders=tuple(deciders))

    async def admit(self, *, knock_id: str, team_id: str, by: str) -> KnockDecided:
        """Add the knocker as an attendee (unless already in) and mint their personal link.

        The add comes first and is idempotent, the decision second: a crash between them
        leaves the knock pending, and pressing Admit again finishes it without harm. Between
        them the room's reminders are brought in line (the knocker is reminded when it opens,
        as someone added by `/room add` is), again on every press; after it, their Homes.
        """
        knock, room = await self._knock_and_room(knock_id, team_id, by)
        if knock.state is not KnockState.PENDING:
            return KnockDecided(knock=knock, first=False)
        now = self._clock()
        if room.participant(knock.user_id) is None:
            mapping = await self._user_identities.get_or_create_many(
                team_id, [knock.user_id], now=now
            )
            raw_id = mapping[knock.user_id].acs_raw_id
            try:
                await self._rooms.add_or_update_participants(room.room_id, {raw_id: Role.ATTENDEE})
            except RoomNotFound:
                raise JoinRefused(
                    "room_not_found", f"Room `{room.room_id}` no longer exists.", status=404
                ) from None
            except AcsError as exc:
                raise JoinRefused(
                    "acs_unavailable",
                    f"Azure Communication Services did not add them ({exc.hint}) Press Admit "
                    "again in a minute.",
                    status=503,
                ) from exc
            room = await self._store.rooms.upsert_participants(
                room.room_id,
                [ParticipantRecord(knock.user_id, raw_id, Role.ATTENDEE)],
                now=now,
            )
        synced = await self._watch.sync(room) if self._watch is not None else None
        decided = await self._store.knocks.decide(
            knock_id, KnockState.ADMITTED, by=by, now=self._clock()
        )
        if self._watch is not None and synced is not None:  # the room has them either way
            self._watch.settled(room.team_id, synced)
        if decided is None:  # someone decided it while we were adding
            latest = await self._store.knocks.get(knock_id)
            assert latest is not None, "knocks are never deleted"
            return KnockDecided(knock=latest, first=False, room=room)
        link = await self.mint(
            team_id=team_id,
            user_id=knock.user_id,
            room_id=room.room_id,
            display_name=knock.display_name,
        )
        return KnockDecided(knock=decided, first=True, room=room, link=link)

    async def deny(self, *, knock_id: str, team_id: str, by: str) -> KnockDecided:
        knock, _room = await self._knock_and_room(knock_id, team_id, by)
        decided = await self._store.knocks.decide(
            knock_id, KnockState.DENIED, by=by, now=self._clock()
        )
        if decided is None:
            latest = await self._store.knocks.get(knock_id)
            return KnockDecided(knock=latest or knock, first=False)
        return KnockDecided(knock=decided, first=True)

    async def _knock_and_room(
        self, knock_id: str, team_id: str, by: str
    ) -> tuple[Knock, RoomRecord]:
        knock = await self._store.knocks.get(knock_id)
        if knock is None or knock.team_id != team_id:
            raise JoinRefused("knock_not_found", "That request to join is unknown.", status=404)
        room = await self._room(team_id, knock.room_id, self._clock())
        if not self._may_change(room, by):
            raise JoinRefused(
                "not_allowed",
                f"Only room `{room.room_id}`'s creator (<@{room.creator_id}>), its presenters "
                "or an admin can let people in.",
                status=403,
            )
        return knock, room

    async def _room(
        self, team_id: str, room_id: str, now: datetime, *, other_team_code: bool = False
    ) -> RoomRecord:
        room = await self._store.rooms.get(room_id)
        if room is None:
            raise JoinRefused(
                "room_not_found", f"There is no room `{room_id}` any more.", status=404
            )
        if room.team_id != team_id:
            if other_team_code:
                raise JoinRefused(
                    "wrong_workspace",
                    "This link was made in another Slack workspace than the room's. Press "
                    "Join on the room's card in its own workspace.",
                    status=403,
                )
            raise JoinRefused("room_not_found", f"There is no room `{room_id}` here.", status=404)
        if room.state is RoomState.ENDED or (room.active and room.valid_until <= now):
            raise JoinRefused(
                "room_closed",
                f"Room `{room_id}` has closed. A presenter can open a new window with "
                f"`/room reschedule {room_id} tomorrow 9am-10am`.",
                status=410,
            )
        if not room.active:
            raise JoinRefused(
                "room_deleted",
                f"Room `{room_id}` was deleted. Ask its creator whether there is a new one.",
                status=410,
            )
        return room


_CODE_REFUSALS = {
    RedeemFailure.USED: (
        "code_used",
        "This join link has been used already; each works once. Press Join on the room's card "
        "in Slack for a new one.",
    ),
    RedeemFailure.EXPIRED: (
        "code_expired",
        "This join link has expired (they last 5 minutes). Press Join on the room's card in "
        "Slack for a new one.",
    ),
    RedeemFailure.UNKNOWN: (
        "code_unknown",
        "This join link is not one roombot made (check it was copied whole). Press Join on the "
        "room's card in Slack for a new one.",
    ),
}


def token_minutes(now: datetime, valid_until: datetime) -> int:
    """A token lifetime covering the rest of the window, within what ACS accepts (60-1440)."""
    remaining = math.ceil((valid_until - now).total_seconds() / 60)
    low, high = TOKEN_MINUTES
    return max(low, min(high, remaining))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
