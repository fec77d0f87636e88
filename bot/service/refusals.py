"""Refusals of room changes, in roombot's words, each with a command that works for that room.

Why a module: ACS's own refusal ("The request could not be understood by the server due to
malformed syntax. ValidUntil: …") names a wire field, not what the person asked for. These
build the `ServiceError` the runner journals and the Slack layer shows: what was wrong, in the
asker's zone, and an example with their own room id. Times in examples are written
``2027-05-20 14:00`` (read in the asker's zone, which is the zone they are shown in).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.acs import AcsResponseError
from bot.domain import RoomRecord, RoomState
from bot.mrkdwn import escape
from bot.parsing.windows import describe
from bot.service.limits import MAX_LIFETIME, WindowProblem, latest_end
from bot.service.outcomes import ServiceError

_MINUTE = timedelta(minutes=1)
_SOME_WINDOW = "tomorrow 9am-5pm"
_SETUP_STATUSES = frozenset({401, 403})  # ACS refused roombot's key, not the person's words


def said(moment: datetime, tz: str) -> str:
    """*moment* as refusals show it, in the asker's zone: ``Wed 20 Jan 2027 09:00 (UTC+01:00)``."""
    return describe(moment.astimezone(ZoneInfo(tz)))


def typed(moment: datetime, tz: str) -> str:
    """*moment* as a person would type it in an example: ``2027-05-20 14:00`` in *tz*."""
    return f"{moment.astimezone(ZoneInfo(tz)):%Y-%m-%d %H:%M}"


def _floor_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _ceil_minute(moment: datetime) -> datetime:
    floored = _floor_minute(moment)
    return floored if floored == moment else floored + _MINUTE


def not_later(room: RoomRecord, new_end: datetime, tz: str) -> ServiceError:
    """`extend` to an end that is not after the room's current one."""
    rid = room.room_id
    message = (
        f"`extend` only moves a room's end later. Room `{rid}` closes {said(room.valid_until, tz)}"
        f", and {said(new_end, tz)} is not after that, so nothing was changed. To give it an "
        f"earlier or a whole new window, use `/room reschedule {rid} WHEN`; to close it now, "
        f"`/room end {rid}`."
    )
    return ServiceError(
        "extend_not_later", message, example=f"/room reschedule {rid} {_SOME_WINDOW}"
    )


def extend_refused(
    room: RoomRecord, new_end: datetime, problem: WindowProblem, tz: str
) -> ServiceError:
    """Extending *room* to *new_end* would break an ACS limit (*problem*)."""
    rid = room.room_id
    if problem is WindowProblem.TOO_LONG:
        latest = _floor_minute(latest_end(room.valid_from))
        limit = (
            f"Room `{rid}` can't stay open until {said(new_end, tz)}: it opens "
            f"{said(room.valid_from, tz)}, and Azure Communication Services keeps a room open "
            f"at most {MAX_LIFETIME.days} days"
        )
        if latest > room.valid_until:
            message = f"{limit}, so it can close at the latest {said(latest, tz)}."
            return ServiceError(
                str(problem), message, example=f"/room extend {rid} to {typed(latest, tz)}"
            )
        start = _ceil_minute(new_end - MAX_LIFETIME)
        message = (
            f"{limit}, and it already does, so it can't be extended. To have it open later, "
            f"move its window: it may open at {said(start, tz)} at the earliest to stay open "
            f"until {said(new_end, tz)}."
        )
        example = f"/room reschedule {rid} {typed(start, tz)} for {MAX_LIFETIME.days} days"
        return ServiceError(str(problem), message, example=example)
    if problem is WindowProblem.END_IN_PAST:
        message = (
            f"Room `{rid}` closed {said(room.valid_until, tz)}, and {said(new_end, tz)} has "
            "passed too, so extending it would not open it again. Give it a new window instead."
        )
        return ServiceError(str(problem), message, example=f"/room reschedule {rid} {_SOME_WINDOW}")
    return _window_refused(room, room.valid_from, new_end, problem, tz, verb="extend")


def reschedule_refused(
    room: RoomRecord,
    valid_from: datetime,
    valid_until: datetime,
    problem: WindowProblem,
    tz: str,
) -> ServiceError:
    """Moving *room* to [*valid_from*, *valid_until*) would break an ACS limit (*problem*)."""
    return _window_refused(room, valid_from, valid_until, problem, tz, verb="reschedule")


def _window_refused(
    room: RoomRecord,
    valid_from: datetime,
    valid_until: datetime,
    problem: WindowProblem,
    tz: str,
    *,
    verb: str,
) -> ServiceError:
    rid = room.room_id
    window = f"{said(valid_from, tz)} to {said(valid_until, tz)}"
    why = {
        WindowProblem.START_TOO_FAR_AHEAD: (
            f"it would open more than {MAX_LIFETIME.days} days from now, and a room can be set "
            f"up at most {MAX_LIFETIME.days} days ahead"
        ),
        WindowProblem.END_IN_PAST: "that window is over already",
        WindowProblem.END_BEFORE_START: "that window ends before it starts",
        WindowProblem.TOO_LONG: (
            f"that is longer than {MAX_LIFETIME.days} days, the most a room may stay open"
        ),
    }[problem]
    message = f"Room `{rid}` can't be moved to {window}: {why}. Nothing was changed."
    if verb == "extend":
        message = f"Room `{rid}` can't be extended to {said(valid_until, tz)}: {why}."
    return ServiceError(str(problem), message, example=f"/room reschedule {rid} {_SOME_WINDOW}")


def end_not_open(room: RoomRecord, ended_at: datetime, tz: str) -> ServiceError:
    """`end` on a room that has not opened yet or has already closed."""
    rid = room.room_id
    if room.valid_from > ended_at:
        message = (
            f"Room `{rid}` has not opened yet (it opens {said(room.valid_from, tz)}), so there "
            f"is nothing to end. To cancel it, delete it; to hold it another time, "
            f"`/room reschedule {rid} WHEN`."
        )
        return ServiceError("room_not_open", message, example=f"/room delete {rid}")
    message = (
        f"Room `{rid}` already closed {said(room.valid_until, tz)}, so there is nothing to end. "
        "To use it again, give it a new window."
    )
    return ServiceError("room_closed", message, example=f"/room reschedule {rid} {_SOME_WINDOW}")


def room_over(room: RoomRecord) -> ServiceError:
    """A change to a room that was deleted or ended: it can no longer change."""
    how = "was deleted" if room.state is RoomState.DELETED else "has ended"
    return ServiceError(
        f"room_{room.state}",
        f"Room `{room.room_id}` {how}; create a new one instead.",
        example="/room create tomorrow",
    )


def acs_refused(error: AcsResponseError, action: str, room_id: str | None) -> ServiceError:
    """A refusal ACS gave for a reason roombot did not check first: our words, then ACS's."""
    what = f"room `{room_id}`" if room_id else "the room"
    message = (
        f"Azure Communication Services refused to {action} {what}, for a reason roombot did "
        f"not check first. It said: “{escape(error.reason)}”. Nothing was changed."
    )
    if error.status in _SETUP_STATUSES:
        message += " That is about roombot's set-up, not your command: please tell an admin."
    example = f"/room show {room_id}" if room_id else "/room create tomorrow 9am-5pm"
    return ServiceError(f"acs_{error.code}", message, example=example)
