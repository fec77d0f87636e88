"""Slack mrkdwn escaping, for text that reaches a message from outside the bot's own wording.

Every message roombot sends is mrkdwn, where `&`, `<` and `>` are control characters: `<…>`
makes a link, a mention or a date. Words a person typed (unescaped to be read) and reasons a
service gave are plain text, so they are escaped where they enter a message; the bot's own
mentions (`<@U…>`) and dates are written as markup and stay live. Escaping happens once, at
that point: a message is never escaped again as a whole.
"""

from __future__ import annotations

import html


def escape(text: str) -> str:
    """*text* (plain) as mrkdwn that shows it as typed: `&` `<` `>` become entities.

    `html.escape` without quotes does exactly Slack's three replacements, `&` first.
    """
    return html.escape(text, quote=False)


def unescape(text: str) -> str:
    """The plain text of mrkdwn written with `escape`, for places that show plain text
    (a modal's field errors): only Slack's three entities, nothing else HTML knows."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
