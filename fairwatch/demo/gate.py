"""Hand each window to the alert manager once, when it has closed.

The pipeline hands a window's evaluation over every time its counts change: while it is still
filling (a sliding window's newest instances hold an hour of data, not twelve) and again when a
late label revises a window that closed days ago. Sinks want all of those (dashboards show revised
values), but an alert rule judging them as they come would see a half-filled window or a
days-old window as the latest state, and pend, fire or resolve on it. The gate keeps the latest
evaluation of each open window and releases it when the watermark passes its end, in window
order; revisions of windows already released are not passed on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from monitor.results import WindowEvaluation
from monitor.types import EvaluationListener

WindowId = tuple[str, str, float]  # (model_id, window spec, window start)


class ClosedWindowGate:
    """An ``EvaluationListener`` that forwards closed windows, once each, to ``listeners``.

    Args:
        listeners: receive the closed windows (the alert manager).
        watermark: returns the pipeline's current watermark (event time, epoch seconds).
    """

    def __init__(
        self, listeners: Sequence[EvaluationListener], watermark: Callable[[], float]
    ) -> None:
        self._listeners = list(listeners)
        self._watermark = watermark
        self._held: dict[WindowId, WindowEvaluation] = {}
        self._released_until: dict[tuple[str, str], float] = {}
        self.released = 0
        self.revisions_ignored = 0

    @property
    def held(self) -> int:
        """Open windows waiting for the watermark."""
        return len(self._held)

    def on_evaluations(self, evaluations: Sequence[WindowEvaluation], now: float) -> None:
        for evaluation in evaluations:
            series = (evaluation.model_id, evaluation.window)
            if evaluation.window_end <= self._released_until.get(series, -math.inf):
                self.revisions_ignored += 1
                continue
            self._held[(*series, evaluation.window_start)] = evaluation
        self.release(now)

    def release(self, now: float) -> list[WindowEvaluation]:
        """Forward every held window that has closed; returns them (oldest first)."""
        watermark = self._watermark()
        due = sorted(
            (held for held in self._held.values() if held.window_end <= watermark),
            key=lambda held: (held.window_end, held.model_id, held.window),
        )
        if not due:
            return []
        for evaluation in due:
            series = (evaluation.model_id, evaluation.window)
            del self._held[(*series, evaluation.window_start)]
            self._released_until[series] = max(
                evaluation.window_end, self._released_until.get(series, -math.inf)
            )
        self.released += len(due)
        for listener in self._listeners:
            listener.on_evaluations(due, now)
        return due
