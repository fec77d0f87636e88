"""Ctrl-C that lands outside readline's wait is sent again until the main thread acts on it.

The lost Ctrl-C is made the way the race makes it: the byte CPython's C-level handler writes
to the wakeup pipe is there, but the Python-level handler has not run, and the main thread is
waiting in a call that only a signal interrupts. Real signals, real threads; deadlines only.
"""

from __future__ import annotations

import os
import threading
import time

import pytest

from bot.local.console.interrupts import CtrlCRelay

WITHIN = 10.0


def test_a_ctrl_c_not_yet_acted_on_is_sent_again_to_the_waiting_main_thread() -> None:
    relay = CtrlCRelay()

    def wait_at_the_prompt() -> None:
        with relay.reading():
            os.write(relay._write_end, b"\x02")  # SIGINT's byte, as the C-level handler writes
            threading.Event().wait(WITHIN)  # as readline's select(): only EINTR ends it early

    try:
        started = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            wait_at_the_prompt()
        assert time.monotonic() - started < WITHIN / 2
    finally:
        relay.close()
