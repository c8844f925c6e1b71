"""The period a report covers: ``[start, end)`` in UTC, parsed from the command line or derived
from a schedule (the previous day, week or month before a moment).

A window belongs to the period when it *ended* in it: ``start < window_end <= end`` (a window
ending exactly at ``start`` holds data from before the period).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

PeriodKind = Literal["day", "week", "month"]
PERIOD_KINDS: tuple[PeriodKind, ...] = ("day", "week", "month")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TIME_FORM = "a date (2026-01-05) or an RFC 3339 time (2026-01-05T06:00:00Z)"


class PeriodError(ValueError):
    """A period cannot be parsed or is empty; the message names the argument."""


@dataclass(frozen=True)
class Period:
    """``[start, end)``, epoch seconds (UTC)."""

    start: float
    end: float

    def __post_init__(self) -> None:
        if not self.end > self.start:
            raise PeriodError(
                f"the period is empty: --to ({format_time(self.end)}) must be after "
                f"--from ({format_time(self.start)})"
            )

    def holds_window(self, window_end: float) -> bool:
        """Whether a window ending at ``window_end`` belongs to the period."""
        return self.start < window_end <= self.end

    def overlaps(self, start: float | None, end: float | None) -> bool:
        """Whether ``[start, end)`` (``None``: unbounded) meets the period."""
        return (start is None or start < self.end) and (end is None or end > self.start)

    @property
    def slug(self) -> str:
        """``2026-01-05_2026-01-12`` (dates at midnight, else ``2026-01-05T0630Z``): file names."""
        return f"{stamp(self.start)}_{stamp(self.end)}"


def parse_time(text: str, argument: str = "--from") -> float:
    """Epoch seconds of a date (midnight UTC) or an RFC 3339 time (UTC when it names no offset)."""
    value = text.strip()
    try:
        if _DATE.match(value):
            moment = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
    except ValueError:
        raise PeriodError(f"{argument}: expected {TIME_FORM}, got {text!r}") from None
    return moment.timestamp()


def format_time(epoch: float | None) -> str | None:
    """``2026-01-05T10:26:00Z`` (milliseconds when the time has a fraction of a second)."""
    if epoch is None:
        return None
    spec = "seconds" if float(epoch).is_integer() else "milliseconds"
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec=spec).replace("+00:00", "Z")


def stamp(epoch: float) -> str:
    """``2026-01-05`` at midnight UTC, else ``2026-01-05T0630Z`` (no colons: file names)."""
    moment = datetime.fromtimestamp(epoch, UTC)
    if moment.hour == moment.minute == moment.second == 0:
        return moment.strftime("%Y-%m-%d")
    return moment.strftime("%Y-%m-%dT%H%M%SZ" if moment.second else "%Y-%m-%dT%H%MZ")


def previous_period(kind: PeriodKind, moment: float) -> Period:
    """The last whole calendar ``kind`` (UTC; weeks start on Monday) ending at or before
    ``moment``: on Monday 06:00 the previous week is the one that ended at Monday 00:00."""
    now = datetime.fromtimestamp(moment, UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if kind == "day":
        end = midnight
        start = end - timedelta(days=1)
    elif kind == "week":
        end = midnight - timedelta(days=midnight.weekday())
        start = end - timedelta(days=7)
    else:
        end = midnight.replace(day=1)
        start = (end - timedelta(days=1)).replace(day=1)
    return Period(start.timestamp(), end.timestamp())
