"""A room's title in a command: text in quotes (``"Design review"``, “curly”) or after ``title:``.

Taken out of the text before it is tokenized, so the words of a title are never read as times or
roles. ``title:`` takes the rest of the command (put it last); quotes may stand anywhere.
"""

from __future__ import annotations

import re

from bot.parsing.commands import ErrorCode, Refusal

MAX_TITLE = 100
_QUOTED = re.compile(r"\"([^\"]*)\"|“([^”]*)”|«([^»]*)»")
_TITLE_LABEL = re.compile(r"(?:^|\s)title:\s*(.*)$", re.IGNORECASE | re.DOTALL)
_SPACES = re.compile(r"\s+")


def take_title(text: str) -> tuple[str, str | None]:
    """(*text* without its title, the title or None). Raises `Refusal` for a title too long.

    Slack escapes ``& < >`` in command text; the title is kept unescaped (``R&D``), and the
    answers escape it again where Slack shows it.
    """
    match = _QUOTED.search(text)
    if match is not None:
        title = next(group for group in match.groups() if group is not None)
        rest = text[: match.start()] + " " + text[match.end() :]
    elif (label := _TITLE_LABEL.search(text)) is not None:
        title, rest = label.group(1), text[: label.start()]
    else:
        return text, None
    title = _SPACES.sub(" ", _unescape(title)).strip()
    if len(title) > MAX_TITLE:
        message = (
            f"That title is {len(title)} characters long; a title may have at most {MAX_TITLE}. "
            'Shorten it, e.g. `/room create tomorrow 3pm "Design review"`.'
        )
        raise Refusal(ErrorCode.TITLE_TOO_LONG, message)
    return rest, title or None


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
