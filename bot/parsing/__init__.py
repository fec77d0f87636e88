"""The /room command language: text + now + the user's zone -> a typed command or a `ParseError`.

Pure and fast; see `bot.parsing.parser` for the verbs and `bot.parsing.windows` for time windows.
"""

from bot.parsing.commands import (
    AddParticipants,
    CreateRoom,
    DeleteRoom,
    Duration,
    EndRoom,
    ErrorCode,
    ExtendRoom,
    Invitee,
    ListRooms,
    Mention,
    OpenModal,
    ParseError,
    RemoveParticipants,
    RenameRoom,
    RescheduleRoom,
    RoomCommand,
    ShowHelp,
    ShowRoom,
    Window,
)
from bot.parsing.parser import USAGE, forget_kept, parse, warm_up

__all__ = [
    "USAGE",
    "AddParticipants",
    "CreateRoom",
    "DeleteRoom",
    "Duration",
    "EndRoom",
    "ErrorCode",
    "ExtendRoom",
    "Invitee",
    "ListRooms",
    "Mention",
    "OpenModal",
    "ParseError",
    "RemoveParticipants",
    "RenameRoom",
    "RescheduleRoom",
    "RoomCommand",
    "ShowHelp",
    "ShowRoom",
    "Window",
    "forget_kept",
    "parse",
    "warm_up",
]
