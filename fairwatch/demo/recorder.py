"""What the demo's live table shows of the closed windows (the alert episodes are recorded by
:class:`fairwatch.episodes.EpisodeRecorder`).

Nothing here changes what the pipeline does: the window recorder is one more listener of the
closed-window gate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from monitor.engine.results import Disparity, GroupResult, WindowEvaluation


@dataclass
class WindowRecorder:
    """Keeps the latest closed window per attribute (for the live table) and counts windows."""

    metric: str
    windows: int = 0
    latest_end: float | None = None
    groups: dict[str, tuple[GroupResult, ...]] = field(default_factory=dict)
    disparities: dict[str, Disparity] = field(default_factory=dict)

    def on_evaluations(
        self, evaluations: Sequence[WindowEvaluation], now: float, watermark: float
    ) -> None:
        for evaluation in evaluations:
            self.windows += 1
            if self.latest_end is not None and evaluation.window_end < self.latest_end:
                continue
            self.latest_end = evaluation.window_end
            by_attribute: dict[str, list[GroupResult]] = {}
            for group in evaluation.groups:
                by_attribute.setdefault(group.attribute, []).append(group)
            self.groups = {name: tuple(groups) for name, groups in by_attribute.items()}
            self.disparities = {
                disparity.attribute: disparity
                for disparity in evaluation.disparities
                if disparity.metric == self.metric and disparity.group is None
            }
