"""Hand each window to the alert manager once, when it has closed.

The pipeline hands a window's evaluation over every time its counts change: while it is still
filling (a sliding window's newest instances hold an hour of data, not twelve) and again when a
late label revises a window that closed days ago. Sinks want all of those (dashboards show revised
values), but an alert rule judging them as they come would see a half-filled window or a
days-old window as the latest state, and pend, fire or resolve on it. The gate keeps the latest
evaluation of each open window and releases it when the watermark passes its end, in window
order; revisions of windows already released are not passed on.

A ``delay`` holds each window longer after it closed, for rules on label-based metrics (TPR,
FPR, PPV) whose labels arrive hours or days after the predictions: the window is judged once its
labels have had time to arrive. After a restart, windows that had closed (plus the delay) before
the restored watermark are not released again: they were judged before the restart, and a
days-old window must not look like the latest state to the alert rules.

When the rules are the only reader of the evaluations (``fairwatch backtest``: no dashboard reads
the sink), the gate also tells the pipeline which changed windows are worth evaluating at all
(:meth:`ClosedWindowGate.decide`): a window once, when it is released; neither while it fills
nor when it is revised.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from monitor.engine.results import WindowEvaluation
from monitor.stream.counters import WINDOWS_HELD, WINDOWS_RELEASED, WINDOWS_REVISIONS_IGNORED
from monitor.types import CounterSample, EvaluationListener, WindowDecision

WindowId = tuple[str, str, float]  # (model_id, window spec, window start)


class ClosedWindowGate:
    """An ``EvaluationListener`` that forwards closed windows, once each, to ``listeners``.

    The pipeline's watermark (event time, epoch seconds) comes with each call: windows ending at
    or before it, minus the delay, are closed.

    Args:
        listeners: receive the closed windows (the alert manager).
        delay: seconds after a window's end (past the watermark) before it is released.
    """

    def __init__(self, listeners: Sequence[EvaluationListener], delay: float = 0.0) -> None:
        if delay < 0 or not math.isfinite(delay):
            raise ValueError(f"delay must be a finite number of seconds >= 0, got {delay!r}")
        self._listeners = list(listeners)
        self._delay = delay
        self._held: dict[WindowId, WindowEvaluation] = {}
        self._released_until: dict[tuple[str, str], float] = {}
        self._floor = -math.inf
        self.released = 0
        self.revisions_ignored = 0

    @property
    def held(self) -> int:
        """Open windows waiting for the watermark."""
        return len(self._held)

    def samples(self) -> list[CounterSample]:
        return [
            WINDOWS_RELEASED.sample(self.released),
            WINDOWS_REVISIONS_IGNORED.sample(self.revisions_ignored),
            WINDOWS_HELD.sample(self.held),
        ]

    def resume(self, watermark: float) -> None:
        """Start after a restart whose restored watermark is ``watermark``.

        Windows released (closed, plus the delay) before it were judged before the restart.
        """
        if math.isfinite(watermark):
            self._floor = watermark - self._delay

    def decide(
        self, model_id: str, window: str, window_end: float, watermark: float
    ) -> WindowDecision:
        """For the pipeline (an :class:`monitor.types.EvaluationFilter`): ``evaluate`` a changed
        window the gate would release at ``watermark``, ``wait`` while it is open, ``skip`` a
        revision of a window released already (the rules would not judge it again)."""
        if window_end <= self._released_until.get((model_id, window), self._floor):
            return "skip"
        if window_end <= watermark - self._delay:
            return "evaluate"
        return "wait"

    def on_evaluations(
        self, evaluations: Sequence[WindowEvaluation], now: float, watermark: float
    ) -> None:
        for evaluation in evaluations:
            series = (evaluation.model_id, evaluation.window)
            released_until = self._released_until.get(series, self._floor)
            if evaluation.window_end <= released_until:
                self.revisions_ignored += 1
                continue
            self._held[(*series, evaluation.window_start)] = evaluation
        self.release(now, watermark)

    def release(self, now: float, watermark: float) -> list[WindowEvaluation]:
        """Forward every held window that has closed by ``watermark``; returns them (oldest
        first)."""
        closed_before = watermark - self._delay
        due = sorted(
            (held for held in self._held.values() if held.window_end <= closed_before),
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
            listener.on_evaluations(due, now, watermark)
        return due
