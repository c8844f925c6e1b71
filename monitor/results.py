"""Result types of the metric engine: what one evaluated window says.

These are the only engine types that other packages (alerting/, sinks, dashboards' writers)
depend on. They are plain frozen dataclasses so that they serialise to JSON and compare in tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Status = Literal["ok", "breach", "insufficient_data"]
Mode = Literal["point", "confident"]
Interval = tuple[float, float]


@dataclass(frozen=True)
class GroupResult:
    """Per-group metrics of one attribute (or one intersection such as ``race&sex``).

    ``rates`` maps a rate name (``selection_rate``, ``tpr``, ``fpr``, ``fnr``, ``tnr``, ``ppv``,
    ``npv``, ``accuracy``, ``base_rate``) to its value, or ``None`` when its denominator is zero.
    ``intervals`` maps the same names to a 95% Wilson interval, or ``None`` when undefined.
    """

    attribute: str
    group: str
    n: int
    n_labeled: int
    predicted_positive: int
    tp: int
    fp: int
    tn: int
    fn: int
    rates: dict[str, float | None]
    intervals: dict[str, Interval | None]
    label_coverage: float | None = None
    ece: float | None = None


@dataclass(frozen=True)
class Disparity:
    """One disparity metric across the groups of one attribute (or intersection).

    ``metric`` is e.g. ``demographic_parity_difference`` or, for a group's ratio to the reference
    group, ``selection_rate_ratio_to_reference`` with ``group`` set. ``value`` is ``None`` when
    undefined. ``status`` is ``insufficient_data`` whenever ``min_group_n`` is below the
    configured minimum group size.
    """

    attribute: str
    metric: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    min_group_n: int
    status: Status
    threshold: float | None
    mode: Mode = "point"
    group: str | None = None
    reference_group: str | None = None


@dataclass(frozen=True)
class WindowEvaluation:
    """Everything the engine computed for one model and one event-time window.

    ``window`` names the window specification (e.g. ``1h`` or ``1d/1h``); ``window_start`` and
    ``window_end`` are epoch seconds (end exclusive); the evaluation's time is ``window_end``.
    """

    model_id: str
    window: str
    window_start: float
    window_end: float
    groups: tuple[GroupResult, ...]
    disparities: tuple[Disparity, ...]
    dropped_groups: int = 0
    labels: dict[str, str] = field(default_factory=dict)
