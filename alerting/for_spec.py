"""A rule's ``for``: how long a breach must hold before the alert fires, counted in data that
does not overlap (docs/alerting.md, "`for` and sliding windows")."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from pydantic import model_validator

from monitor.config.durations import parse_duration
from monitor.config.sections import Section

_FOR_COUNT = re.compile(r"^\s*(\d+)\s*(evaluations?|evals?|windows?)\s*$")
_FOR_UNIT = {"evaluation": "evaluations", "eval": "evaluations", "window": "windows"}


class ForSpec(Section):
    """How long a breach must hold before firing: a duration, consecutive breaching evaluations
    (``3 evaluations``) and/or breaching windows that do not overlap (``3 windows``: with a
    sliding window, three windows of distinct data; the same as evaluations when tumbling).

    A duration counts data that does not overlap too (:meth:`distinct_windows`): the first
    breaching window and enough later ones, none overlapping the last one counted, to cover it.
    ``N evaluations`` keeps its meaning (consecutive, overlapping evaluations of a sliding
    window); :func:`alerting.config.overlap_warnings` says so when a rule uses it on a sliding
    window."""

    seconds: float = 0.0
    evaluations: int = 0
    windows: int = 0

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            return data
        if isinstance(data, str):
            match = _FOR_COUNT.match(data)
            if match:
                return {_FOR_UNIT[match.group(2).rstrip("s")]: int(match.group(1))}
        try:
            return {"seconds": parse_duration(data)}
        except ValueError:
            raise ValueError(
                "expected a duration (30s, 5m, 2h) or a count of windows ('3 evaluations': "
                "consecutive evaluations; '3 windows': windows that do not overlap)"
            ) from None

    def distinct_windows(self, window_seconds: float) -> int:
        """How many breaching windows of ``window_seconds`` that do not overlap must come in a
        row: ``windows``, and for a duration the first one plus as many as cover the duration
        (on a ``1h`` or ``1h/5m`` window ``15m`` and ``1h`` need two, ``90m`` three). On a
        tumbling window this is the duration's own count of windows."""
        needed = self.windows
        if self.seconds > 0 and window_seconds > 0:
            later = math.ceil(self.seconds / window_seconds - 1e-9)
            needed = max(needed, 1 + later)
        return needed
