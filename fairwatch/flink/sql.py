"""Small builders of Flink SQL text: literals, identifiers, intervals, JSON paths.

Everything the renderer puts into the job from the configuration (topic names, model ids,
attribute names, thresholds) goes through these, so no configured value can change the
statement's structure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping


def literal(text: str) -> str:
    """A SQL string literal (quotes doubled; backslashes are not escapes in Flink SQL)."""
    return "'" + text.replace("'", "''") + "'"


def identifier(name: str) -> str:
    """A back-quoted identifier (reserved words such as ``sensitive`` included)."""
    return "`" + name.replace("`", "``") + "`"


def double(value: float) -> str:
    """A DOUBLE literal holding exactly ``value`` (Python's shortest round-trip form)."""
    if not math.isfinite(value):
        raise ValueError(f"{value!r} has no SQL literal")
    return f"CAST({value!r} AS DOUBLE)"


def interval(seconds: float) -> str:
    """A day-time interval literal of ``seconds`` (millisecond precision)."""
    if seconds < 0:
        raise ValueError("an interval is not negative")
    millis = round(seconds * 1000)
    if millis >= 100 * 86_400_000:
        raise ValueError("Flink SQL intervals hold less than 100 days (DAY(2) TO SECOND(3))")
    days, rest = divmod(millis, 86_400_000)
    hours, rest = divmod(rest, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    whole, fraction = divmod(rest, 1000)
    return (
        f"INTERVAL '{days} {hours:02d}:{minutes:02d}:{whole:02d}.{fraction:03d}' "
        "DAY(2) TO SECOND(3)"
    )


def duration(seconds: float) -> str:
    """A Flink configuration duration (``'2592000000 ms'``)."""
    return f"{round(seconds * 1000)} ms"


def json_path(*names: str) -> str:
    """A JSON path literal naming object members in bracket notation (any member name)."""
    parts = "".join("['" + name.replace("\\", "\\\\").replace("'", "\\'") + "']" for name in names)
    return literal("$" + parts)


def options(settings: Mapping[str, str]) -> str:
    """The ``WITH (...)`` clause of a table: ``'key' = 'value'`` pairs, one per line."""
    return ",\n".join(f"  {literal(key)} = {literal(value)}" for key, value in settings.items())


def in_list(values: Iterable[str]) -> str:
    return ", ".join(literal(value) for value in values)
