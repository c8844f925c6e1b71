"""What drives the alert manager's timers (``alerting.types.Ticker``).

The manager does not own a thread or read a clock: its ticker calls ``tick(now)``.
``fairwatch run`` uses :class:`SchedulerTicker` (an APScheduler thread on the daemon's clock);
a replay (``fairwatch demo``, ``fairwatch backtest``) and the tests use :class:`ManualTicker`,
a clock that moves only when told to and ticks as it passes each interval.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from alerting.types import Clock, Tick

log = logging.getLogger("fairwatch.alerting")


class SchedulerTicker:
    """Runs ``tick(clock())`` every ``interval`` seconds in a background thread.

    A tick that raises is logged and the next one runs as planned; a tick still running when
    the next is due is not doubled (the late one is skipped).
    """

    def __init__(self, interval: float, clock: Clock = time.time) -> None:
        self.interval = interval
        self.clock = clock
        self._scheduler: Any = None
        self._tick: Tick | None = None
        self._lock = threading.Lock()

    def start(self, tick: Tick) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        with self._lock:
            if self._scheduler is not None:
                return
            self._tick = tick
            scheduler = BackgroundScheduler(daemon=True)
            scheduler.add_job(
                self._run,
                "interval",
                seconds=self.interval,
                max_instances=1,
                coalesce=True,
                id="fairwatch-alerting-tick",
            )
            scheduler.start()
            self._scheduler = scheduler

    def _run(self) -> None:
        tick = self._tick
        if tick is None:
            return
        try:
            tick(self.clock())
        except Exception:  # a failing tick must not stop the scheduler; it is retried next time
            log.exception("event=alerting_tick_failed")

    def stop(self) -> None:
        with self._lock:
            scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None:
            scheduler.shutdown(wait=True)


class ManualTicker:
    """A clock that moves only when told to (:meth:`advance`), calling ``tick(moment)`` at
    ``start``, ``start + every``, ``start + 2 * every``, … as it passes each of them.

    Called, it returns the time it has reached, so it serves as the daemon's clock too (a
    replay's event time). ``delivered`` adds up what the ticks returned (notifications sent).
    Before :meth:`start` (and after :meth:`stop`) the moments pass without a tick.
    """

    def __init__(self, start: float = 0.0, every: float = 60.0) -> None:
        if every <= 0:
            raise ValueError(f"every must be a positive number of seconds, got {every!r}")
        self.now = start
        self.tick_every = every
        self.delivered = 0
        self._tick: Tick | None = None
        self._next_tick = start

    def __call__(self) -> float:
        return self.now

    def start(self, tick: Tick) -> None:
        self._tick = tick

    def stop(self) -> None:
        self._tick = None

    def advance(self, moment: float) -> None:
        """Move to ``moment`` (never backwards), ticking on the way."""
        if moment <= self.now:
            return
        while self._next_tick <= moment:
            if self._tick is not None:
                self.delivered += self._tick(self._next_tick)
            self._next_tick += self.tick_every
        self.now = moment
