"""Where the console's lines come from: a person at a terminal, or a script or pipe.

At a terminal, `input()` goes through the standard library's `readline`: arrow keys, Emacs
keys, Up/Down through the history, which is kept in a file under `var/` between runs. Ctrl-C
raises `KeyboardInterrupt` out of `read()` with the half-typed line discarded (the caller shows
a fresh prompt, as a shell does); Ctrl-D ends the input. A script or pipe is read line by line
with nothing echoed by the reader: the console prints what it did, as a transcript.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Protocol

from bot.local.console.interrupts import CtrlCRelay

HISTORY_LENGTH = 1000


class LineSource(Protocol):
    """One line at a time; None at the end of the input."""

    @property
    def interactive(self) -> bool: ...

    def read(self, prompt: str) -> str | None: ...

    def remember(self, line: str) -> None:
        """Keep *line* in the history (for commands, not for answers to a form's fields)."""


class ScriptLines:
    """Lines from a file or a pipe; prompts are not printed (the console echoes instead)."""

    interactive = False

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines: Iterator[str] = iter(lines)

    def read(self, prompt: str) -> str | None:
        line = next(self._lines, None)
        return None if line is None else line.rstrip("\r\n")

    def remember(self, line: str) -> None:
        return None


class Terminal:
    """A person at a terminal, through `readline` with a history file."""

    interactive = True

    def __init__(self, history_file: Path | None, *, words: Sequence[str] = ()) -> None:
        import readline  # only here: the module changes how input() behaves once imported

        self._readline = readline
        self._history_file = history_file
        self._words = tuple(words)
        readline.set_auto_history(False)  # answers to a form's fields stay out of the history
        readline.set_history_length(HISTORY_LENGTH)
        readline.set_completer_delims(" ")  # complete the whole `/room verb` so far
        readline.set_completer(self._complete)
        readline.parse_and_bind("tab: complete")
        self._interrupts = CtrlCRelay()
        if history_file is not None and history_file.exists():
            with contextlib.suppress(OSError):
                readline.read_history_file(history_file)

    def read(self, prompt: str) -> str | None:
        try:
            with self._interrupts.reading():
                return input(prompt)
        except EOFError:  # Ctrl-D
            print()
            return None

    def remember(self, line: str) -> None:
        length = self._readline.get_current_history_length()
        if line and (length == 0 or self._readline.get_history_item(length) != line):
            self._readline.add_history(line)

    def _complete(self, text: str, state: int) -> str | None:
        """Tab completion of the word being typed, from the console's commands."""
        line = self._readline.get_line_buffer()[: self._readline.get_endidx()]
        index = line.count(" ")
        options = sorted(
            {
                w.split(" ")[index]
                for w in self._words
                if w.startswith(line) and w.count(" ") >= index
            }
        )
        return options[state] + " " if state < len(options) else None

    def close(self) -> None:
        """Write the history file (kept to the last HISTORY_LENGTH lines); Ctrl-C as before."""
        self._interrupts.close()
        if self._history_file is None:
            return
        with contextlib.suppress(OSError):
            self._history_file.parent.mkdir(parents=True, exist_ok=True)
            self._readline.write_history_file(self._history_file)
