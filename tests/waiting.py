"""Waiting in tests: poll a condition until it holds or a deadline passes, never a fixed sleep.

A fixed ``time.sleep(2)`` is either too short on a loaded machine (a flaky test) or too long
everywhere else (a slow one). :func:`wait_until` returns as soon as the condition holds.
"""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(condition: Callable[[], object], timeout: float, interval: float = 0.1) -> bool:
    """Call ``condition`` every ``interval`` seconds until it returns something true or
    ``timeout`` seconds have passed; returns whether it held (checked once more at the deadline).

    Use it as ``assert wait_until(lambda: ..., 30), "what did not happen"``. An exception raised by
    ``condition`` (e.g. an ``AssertionError`` saying the process under test died) ends the wait.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(max(0.0, min(interval, deadline - time.monotonic())))
    return bool(condition())
