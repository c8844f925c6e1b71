"""When a report's schedule fired, and which periods are due: pure functions of the schedule,
the last fire handled and ``now``.

A schedule is a cron expression read by APScheduler's :class:`CronTrigger` in UTC. The first
time a report is seen (nothing handled yet) only its latest fire is due: the previous period
is reported at once, not the whole history. After downtime every fire since the last one
handled is due, oldest first (at most ``limit``, the most recent), so missed reports are made
up; a fire is handled once all its reports are made and posted.
"""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.cron import CronTrigger

#: How far back the first fire is looked for (a yearly schedule fires within it).
FIRST_LOOKBACK = (timedelta(days=2), timedelta(days=40), timedelta(days=400))
#: Fires older than this before ``now`` are not looked at (a minutely schedule after a long
#: downtime would otherwise be walked fire by fire).
LONGEST_CATCH_UP = timedelta(days=400)


def _moment(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def fires_between(cron: str, after: float, until: float, limit: int) -> list[float]:
    """The schedule's fire times in ``(after, until]``, oldest first; the ``limit`` latest."""
    trigger = CronTrigger.from_crontab(cron, timezone=UTC)
    end = _moment(until)
    cursor = max(_moment(after), end - LONGEST_CATCH_UP) + timedelta(microseconds=1)
    found: deque[float] = deque(maxlen=max(1, limit))
    while True:
        moment = trigger.get_next_fire_time(None, cursor)
        if moment is None or moment > end:
            break
        if moment.timestamp() > after:
            found.append(moment.timestamp())
        cursor = moment + timedelta(microseconds=1)
    return list(found)


def due_fires(cron: str, last_fire: float | None, now: float, limit: int) -> list[float]:
    """The fires to handle at ``now``: since ``last_fire``, or the latest one the first time."""
    if last_fire is not None:
        return fires_between(cron, last_fire, now, limit)
    for lookback in FIRST_LOOKBACK:
        fires = fires_between(cron, now - lookback.total_seconds(), now, 1)
        if fires:
            return fires
    return []
