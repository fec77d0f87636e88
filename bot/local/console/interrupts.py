"""Ctrl-C that always reaches the prompt.

CPython's `readline` notices a signal only when it interrupts the `select()` in which readline
waits for a key (EINTR). A Ctrl-C that lands a moment before or after that wait (while a key is
being drawn, between printing the prompt and waiting) is recorded but not acted on until the
next key: the terminal has by then thrown the typed line away (it flushes input on SIGINT), so
the console seems to ignore Ctrl-C. This relay hears every SIGINT through Python's wakeup fd,
on a thread of its own; if the main thread is still waiting in `readline` and has not handled
it shortly after, it sends the signal to the main thread again, until it lands in the wait.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import threading
from collections.abc import Iterator
from types import FrameType

RESEND_AFTER = 0.1  # seconds: far longer than handling a Ctrl-C takes, far shorter than a person


@contextlib.contextmanager
def sigint_blocked() -> Iterator[None]:
    """SIGINT blocked in this thread meanwhile, so that threads started now inherit it.

    The kernel gives a process's SIGINT to any thread that does not block it; a thread that
    took it would never wake the main thread's readline.
    """
    if not hasattr(signal, "pthread_sigmask"):  # not on Windows; there is no readline there
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class CtrlCRelay:
    """Install from the main thread; `reading()` brackets each wait in `input()`.

    Every SIGINT puts a byte in the wakeup pipe (CPython's C-level handler does that at once,
    whichever thread it interrupts) and the Python-level handler, when it runs in the main
    thread, empties the pipe: a byte left in the pipe is a Ctrl-C not yet acted on.
    """

    def __init__(self) -> None:
        self._main = threading.get_ident()
        self._reading = False
        self._stop = threading.Event()
        self._read_end, self._write_end = os.pipe()
        os.set_blocking(self._read_end, False)
        os.set_blocking(self._write_end, False)
        self._previous_fd = signal.set_wakeup_fd(self._write_end, warn_on_full_buffer=False)
        self._previous_handler = signal.signal(signal.SIGINT, self._on_sigint)
        with sigint_blocked():
            self._thread = threading.Thread(target=self._relay, name="ctrl-c-relay", daemon=True)
            self._thread.start()

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        self._reading = True
        try:
            yield
        finally:
            self._reading = False

    def close(self) -> None:
        """Put Ctrl-C back as it was and stop the relay."""
        signal.signal(signal.SIGINT, self._previous_handler)
        signal.set_wakeup_fd(self._previous_fd)
        self._stop.set()
        os.close(self._write_end)  # wakes the relay's select()
        self._thread.join(1.0)
        os.close(self._read_end)

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            while os.read(self._read_end, 512):
                pass
        raise KeyboardInterrupt

    def _pending(self) -> bool:
        return bool(select.select([self._read_end], [], [], 0)[0])

    def _relay(self) -> None:
        while not self._stop.is_set():
            select.select([self._read_end], [], [])  # until a Ctrl-C is waiting
            if self._stop.wait(RESEND_AFTER):
                return
            if self._reading and self._pending():
                signal.pthread_kill(self._main, signal.SIGINT)
