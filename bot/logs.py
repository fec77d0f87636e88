"""Logging set-up, with a filter that redacts anything shaped like a secret.

The code never logs tokens, keys or signatures on purpose; this is the second line: a
library's debug line (slack-sdk logs request headers at DEBUG) is scrubbed on its way out.
"""

from __future__ import annotations

import logging
import re
import sys

_SECRETS = re.compile(
    r"(xox[abposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+"
    r"|(?<=Signature=)[A-Za-z0-9+/=]+"
    r"|(?<=v0=)[0-9a-fA-F]{16,}"  # Slack request signatures, as Bolt logs a failed one
    r"|(?i:accesskey=)[A-Za-z0-9+/=]+"
    r"|(?<=Bearer )[A-Za-z0-9._~+/=-]+"
    r"|eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"
    r"|(?<=/join/)[A-Za-z0-9_-]{16,}"  # a personal join link's one-use code
    r"|(?<='code': ')[A-Za-z0-9._~-]+)"  # an OAuth code in slack-sdk's logged form data
)
REDACTED = "***"


def redact(text: str) -> str:
    """*text* with tokens, access keys, signatures and JWTs replaced by ***."""
    return _SECRETS.sub(REDACTED, text)


class RedactingFilter(logging.Filter):
    """Formats the record once and scrubs the result."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


def scrub_at_source(name: str) -> None:
    """Redact *name*'s records where they are made, before any handler sees them.

    slack-sdk logs each request's body at DEBUG, and a personal join link is posted in one:
    a handler of a deployment's own (without our filter) would otherwise get the code.
    """
    logger = logging.getLogger(name)
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())


LEVEL_TESTED_LOGGERS = (
    "roombot.bolt",  # Bolt's base logger (`bot.slack.app`): its own loggers copy its level
    "slack_sdk.web.async_base_client",  # every AsyncWebClient's, unless given another
)
"""Loggers whose libraries ask `logger.level <= logging.DEBUG` before building a debug line:
the logger's *own* level, not its effective one. Left at NOTSET (0) the answer is always yes,
so slack-sdk formatted every Web API call's request and response (a card's blocks included)
and Bolt a line per middleware, for the handler to drop. `configure_logging` gives them the
root's level, which filters exactly as inheriting it did."""


def configure_logging(level: str = "INFO") -> None:
    """One stderr handler with the redacting filter; idempotent."""
    root = logging.getLogger()
    if any(isinstance(f, RedactingFilter) for h in root.handlers for f in h.filters):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    if root.level > logging.DEBUG:  # at DEBUG they are left to build their lines
        for name in LEVEL_TESTED_LOGGERS:
            logger = logging.getLogger(name)
            if logger.level == logging.NOTSET:  # a level set on purpose is kept
                logger.setLevel(root.level)
    # Alembic narrates every start at INFO (plugins set up, "Context impl SQLiteImpl", each
    # revision run); roombot logs the schema it opened. Its lines are kept for DEBUG.
    if root.level > logging.DEBUG:
        logging.getLogger("alembic").setLevel(max(root.level, logging.WARNING))
