"""``roombot parse``: dry-run the /room command language and print JSON.

Why: to see what a text means without Slack or ACS, and to run thousands of cases in one process
(JSON Lines on stdin, one result per line). Parse errors are results, so the exit code is 0;
argparse exits with 2 for bad flags. The output shapes:

- create: ``{"action", "valid_from", "valid_until", "participants", "pstn_dial_out", "window"}``
  (plus ``"groups"`` when user groups were mentioned);
- reschedule (``move``): ``{"action", "room_id", "valid_from", "valid_until", "window"}``;
- other verbs: ``{"action", "room_id", …}`` (``end``: just the room id);
- a refusal: ``{"error": {"code", "message"}}``, with ``"window"`` when the words were read but the
  rules refused them. ``window`` is the literal reading: before defaults, before a past start
  moves to now.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter, ValidationError

from bot.config import ConfigError, load_settings
from bot.parsing.commands import (
    AddParticipants,
    CreateRoom,
    DeleteRoom,
    EndRoom,
    ExtendRoom,
    ParseError,
    RemoveParticipants,
    RenameRoom,
    RescheduleRoom,
    RoomCommand,
    ShowHelp,
    ShowRoom,
    Window,
)
from bot.parsing.parser import parse
from bot.parsing.windows import read_length


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--now``, ``--tz``, ``--locale`` and the optional TEXT to *parser*."""
    parser.add_argument(
        "--now",
        type=_moment,
        default=None,
        help="the moment the command is said, ISO 8601 local time (default: the current time)",
    )
    parser.add_argument(
        "--tz", type=_zone, default=ZoneInfo("UTC"), help="the user's IANA zone (default: UTC)"
    )
    parser.add_argument(
        "--locale", default="en-US", help="the user's Slack locale, for 1/2-style dates"
    )
    parser.add_argument(
        "--default-length",
        type=_length,
        default=None,
        metavar="LENGTH",
        help="how long an instant with no end lasts, e.g. '90 minutes' or PT90M (default: "
        "ROOMBOT_DEFAULT_LENGTH, else 1 hour)",
    )
    parser.add_argument(
        "text",
        nargs="*",
        metavar="TEXT",
        help='the command text, e.g. "tomorrow 9am-5pm"; without it, read JSON Lines '
        '{"text", "now", "tz", "locale"?} from stdin and print one result per line',
    )


def run(args: argparse.Namespace) -> int:
    """Print the result of *args.text*, or of each JSON line on stdin; 0 even for parse errors."""
    zone: tzinfo = args.tz
    if args.default_length is None:
        try:
            length = load_settings().default_length
        except ConfigError as exc:
            print(f"roombot parse: {exc}", file=sys.stderr)
            return 2
    else:
        length = args.default_length
    now: datetime = args.now if args.now is not None else datetime.now(zone)
    if args.text:
        text = " ".join(args.text)
        _print(to_json(parse(text, now=now, tz=zone, locale=args.locale, default_length=length)))
        return 0
    for line in sys.stdin:
        if line.strip():
            _print(_run_line(line, now, zone, args.locale, length))
    return 0


def _run_line(
    line: str, now: datetime, zone: tzinfo, locale: str, length: timedelta
) -> dict[str, Any]:
    try:
        case = json.loads(line)
        if not isinstance(case, dict) or not isinstance(case.get("text"), str):
            msg = "no text"
            raise TypeError(msg)
        text: str = case["text"]
        line_zone = _zone(case["tz"]) if case.get("tz") else zone
        line_now = _moment(case["now"]) if case.get("now") else now
        line_locale = str(case.get("locale") or locale)
    except (ValueError, TypeError, KeyError, argparse.ArgumentTypeError) as exc:
        message = f"not a JSON object with text, now and tz: {exc}"
        return {"error": {"code": "bad_input", "message": message}}
    return to_json(
        parse(text, now=line_now, tz=line_zone, locale=line_locale, default_length=length)
    )


def to_json(result: RoomCommand | ParseError) -> dict[str, Any]:
    """*result* as the JSON object ``roombot parse`` prints."""
    if isinstance(result, ParseError):
        error: dict[str, Any] = {"error": {"code": str(result.code), "message": result.message}}
        if result.window is not None:
            error["window"] = _window(result.window)
        return error
    out: dict[str, Any] = {"action": result.action}
    if isinstance(result, CreateRoom):
        out |= {
            "valid_from": result.valid_from.isoformat(),
            "valid_until": result.valid_until.isoformat(),
            "participants": {key: str(role) for key, role in result.participants.items()},
            "pstn_dial_out": result.pstn_dial_out,
            "window": _window(result.window),
        }
        if result.groups:
            out["groups"] = {key: str(role) for key, role in result.groups.items()}
        if result.title is not None:
            out["title"] = result.title
        if result.zone_note:
            out["zone"] = result.zone_note
    elif isinstance(result, ShowRoom | DeleteRoom | EndRoom):
        out["room_id"] = result.room_id
    elif isinstance(result, RenameRoom):
        out |= {"room_id": result.room_id, "title": result.title}
    elif isinstance(result, RescheduleRoom):
        out |= {
            "room_id": result.room_id,
            "valid_from": result.valid_from.isoformat(),
            "valid_until": result.valid_until.isoformat(),
            "window": _window(result.window),
        }
    elif isinstance(result, ExtendRoom):
        out |= {
            "room_id": result.room_id,
            "by": result.by.isoformat() if result.by is not None else None,
            "until": result.until.isoformat() if result.until is not None else None,
        }
    elif isinstance(result, AddParticipants):
        out["room_id"] = result.room_id
        out["participants"] = {key: str(role) for key, role in result.participants.items()}
        if result.groups:
            out["groups"] = {key: str(role) for key, role in result.groups.items()}
    elif isinstance(result, RemoveParticipants):
        out["room_id"] = result.room_id
        out["participants"] = [who.id for who in result.mentions if not who.is_group]
        if any(who.is_group for who in result.mentions):
            out["groups"] = [who.id for who in result.mentions if who.is_group]
    elif isinstance(result, ShowHelp):
        out["topic"] = result.topic
    return out


def _window(window: Window) -> dict[str, str | None]:
    end = window.end.isoformat() if window.end is not None else None
    return {"start": window.start.isoformat(), "end": end}


def _print(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError, OSError) as exc:
        msg = f"unknown IANA time zone: {name!r}"
        raise argparse.ArgumentTypeError(msg) from exc


def _moment(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except (ValueError, TypeError) as exc:
        msg = f"not an ISO 8601 time: {text!r} (e.g. 2027-01-13T15:10:00)"
        raise argparse.ArgumentTypeError(msg) from exc


def _length(text: str) -> timedelta:
    """``--default-length``: words (``90 minutes``) or ISO 8601 (``PT90M``), as the setting."""
    if text.strip().upper().startswith("P"):
        try:
            return TypeAdapter(timedelta).validate_python(text.strip())
        except ValidationError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 length") from None
    try:
        return read_length(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
