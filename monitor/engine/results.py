"""Result types of the metric engine: what one evaluated window says.

These are the only engine types that other packages (alerting/, sinks, dashboards' writers)
depend on. They are plain frozen dataclasses so that they serialise to JSON and compare in tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, NamedTuple

Status = Literal["breach", "undecided", "ok", "not_computable"]
#: Every status, worst first: ``breach`` (beyond the threshold), ``undecided`` (the interval
#: straddles it: not enough evidence to tell), ``ok`` (within it), ``not_computable`` (fewer than
#: two groups with enough data for the metric).
STATUSES: tuple[Status, ...] = ("breach", "undecided", "ok", "not_computable")
Mode = Literal["point", "confident"]
Interval = tuple[float, float]

#: How a rate is named in human text (alerts, reports).
RATE_LABELS = {
    "selection_rate": "selection rate",
    "favourable_rate": "favourable rate",
    "tpr": "TPR",
    "fpr": "FPR",
    "fnr": "FNR",
    "tnr": "TNR",
    "ppv": "PPV",
    "npv": "NPV",
    "accuracy": "accuracy",
    "base_rate": "base rate",
    "calibration_gap": "calibration gap",
}


#: Rates reported with their sign (a calibration gap is above or below 0).
SIGNED_RATES = frozenset({"calibration_gap"})


def signed(value: float, digits: int = 3) -> str:
    """``+0.034`` / ``-0.019``; a value that rounds to zero is ``+0.000`` (never ``-0.000``)."""
    rounded = round(value, digits)
    return f"{rounded if rounded else 0.0:+.{digits}f}"


def extremes_text(
    rate: str | None,
    highest_group: str | None,
    highest_rate: float | None,
    lowest_group: str | None,
    lowest_rate: float | None,
) -> str | None:
    """``FPR African-American 0.448 vs Caucasian 0.235``; None when the extremes are unknown."""
    if rate is None or highest_group is None or lowest_group is None:
        return None
    if highest_rate is None or lowest_rate is None:
        return None
    label = RATE_LABELS.get(rate, rate)
    if rate in SIGNED_RATES:
        high_text, low_text = signed(highest_rate), signed(lowest_rate)
    else:
        high_text, low_text = f"{highest_rate:.3f}", f"{lowest_rate:.3f}"
    return f"{label} {highest_group} {high_text} vs {lowest_group} {low_text}"


class ReliabilityBin(NamedTuple):
    """One score bin of a group's reliability diagram: the labeled rows whose score lies in
    ``[lower, upper)`` (the last bin includes 1), their mean score and their share of label 1
    (both ``None`` when the bin is empty). A named tuple: a window has one per group and bin,
    and a tuple is built in half the time of a frozen dataclass."""

    lower: float
    upper: float
    n: int
    mean_score: float | None
    observed_rate: float | None


class ScoreHistogram(NamedTuple):
    """A group's scores in the engine's ``score_bins`` equal bins on [0, 1] (bin ``b`` holds
    ``b / bins <= score < (b + 1) / bins``, the last bin also 1): per bin the scored predictions
    (labeled or not), and the labeled rows with label 0 and with label 1. What threshold advice
    is computed from (:mod:`monitor.engine.advice`)."""

    predictions: tuple[int, ...]
    negatives: tuple[int, ...]
    positives: tuple[int, ...]

    @property
    def bins(self) -> int:
        return len(self.predictions)


@dataclass(frozen=True)
class GroupResult:
    """Per-group metrics of one attribute (or one intersection such as ``race&sex``).

    ``rates`` maps a rate name (``selection_rate``, ``tpr``, ``fpr``, ``fnr``, ``tnr``, ``ppv``,
    ``npv``, ``accuracy``, ``base_rate``) to its value, or ``None`` when its denominator is zero.
    ``intervals`` maps the same names to a 95% Wilson interval, or ``None`` when undefined.
    ``small_rates`` names the rates whose denominator is below the minimum group size: the group
    is left out of the disparities of those rates (its own rates are still reported).

    With scores (labeled rows that carry one): ``ece`` is the expected calibration error,
    ``calibration_gap`` the mean score minus the observed rate of label 1 (positive: the scores
    overstate the group's outcome rate), ``reliability`` the reliability diagram, one
    :class:`ReliabilityBin` per score bin; ``None`` and ``()`` without scored labeled rows.
    ``score_histogram`` holds its scores by bin (:class:`ScoreHistogram`; ``None`` without any
    scored row): not written to the sinks, it is what alert advice is computed from.
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
    small_rates: tuple[str, ...] = ()
    calibration_gap: float | None = None
    reliability: tuple[ReliabilityBin, ...] = ()
    score_histogram: ScoreHistogram | None = None


@dataclass(frozen=True)
class Disparity:
    """One disparity metric across the groups of one attribute (or intersection).

    ``metric`` is e.g. ``demographic_parity_difference``, ``calibration_difference`` or, for a
    group's ratio to the reference group, ``selection_rate_ratio_to_reference`` with ``group``
    set. Only groups with enough data
    for the metric's rates take part; the others are named in ``small_groups``. ``value`` is
    ``None`` when fewer than two groups take part (status ``not_computable``). ``min_group_n`` is
    the smallest denominator among the groups compared (over all groups when not computable).

    The extremes say who the disparity is about: ``rate`` is the rate that sets the value (for
    equalized odds ``tpr`` or ``fpr``, whichever gap is the worst; ``favourable_rate`` for ratios
    of a model whose favourable prediction is 0; ``calibration_gap`` for the calibration
    difference), ``highest_group``/``highest_rate`` and
    ``lowest_group``/``lowest_rate`` the groups with the highest and lowest value of that rate
    (for a ratio to the reference: the group and the reference group). ``None`` when not
    computable.
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
    rate: str | None = None
    highest_group: str | None = None
    highest_rate: float | None = None
    lowest_group: str | None = None
    lowest_rate: float | None = None
    small_groups: tuple[str, ...] = ()

    @property
    def extremes(self) -> str | None:
        """The extremes in words (``FPR African-American 0.448 vs Caucasian 0.235``)."""
        return extremes_text(
            self.rate, self.highest_group, self.highest_rate, self.lowest_group, self.lowest_rate
        )


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
