"""Durations, one rule for every section of the configuration (and ``silence --duration``).

A duration is a number with a unit, ``500ms``, ``90s``, ``5m``, ``1.5h``, ``30d``, ``2w``, or a
bare number of seconds, written as a number (``90``) or as text (``"90"``: what ``${VAR}``
gives). It is finite and not negative; a section may ask for more (``gt=0``).
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import BeforeValidator

UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
DURATION_FORM = "a duration such as 30s, 5m, 1h, 30d (or a number of seconds)"


def parse_duration(value: Any) -> float:
    """Seconds of ``value``: ``"5m"``-style text, or a number of seconds (number or text)."""
    seconds: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            seconds = float(match.group(1)) * UNIT_SECONDS[match.group(2) or "s"]
    if seconds is None:
        raise ValueError(f"expected {DURATION_FORM}, got {value!r}")
    if seconds < 0 or not math.isfinite(seconds):
        raise ValueError(f"expected {DURATION_FORM}, got {value!r}: durations are finite, >= 0")
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest exact unit form of a duration (``3600`` → ``1h``, ``90`` → ``90s``)."""
    for unit in ("w", "d", "h", "m", "s"):
        size = UNIT_SECONDS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


Duration = Annotated[float, BeforeValidator(parse_duration)]
"""A pydantic field type holding seconds, parsed by :func:`parse_duration`."""
