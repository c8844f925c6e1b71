"""How the metric engine judges windows: :class:`EngineConfig`.

Each setting is declared here once: its field (type and default) and, in :data:`FIELD_CHECKS`,
what values it accepts. The daemon's ``engine:`` section is generated from these fields
(:mod:`monitor.config.engine`), so a field added here is configurable there, with the same default
and the same check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from monitor.engine.counts.layout import DEFAULT_SCORE_BINS
from monitor.engine.disparities import DEFAULT_THRESHOLDS, METRIC_BY_NAME
from monitor.engine.results import Mode

SIMULATED_RATES: tuple[str, ...] = ("selection_rate", "tpr", "fpr", "ppv", "accuracy")
FAVOURABLE_PREDICTIONS = (0, 1)
MODES: tuple[Mode, ...] = ("point", "confident")
MAX_SCORE_BINS = 1000
#: Calibration's bins when ``score_bins`` is a multiple of it (and none is configured).
DEFAULT_CALIBRATION_BINS = 10


@dataclass(frozen=True)
class EngineConfig:
    """How windows are judged.

    ``min_group_size`` is the evidence a group needs to take part in a disparity, counted in the
    denominator of each of the disparity's rates (predictions for the selection rate, labeled
    positives for TPR and FNR, labeled negatives for FPR, …); smaller groups are reported with
    their own rates and left out of it. ``mode``: ``confident`` (default) lets the interval
    decide (``breach``, ``ok`` or ``undecided``), ``point`` the value. ``thresholds`` maps a
    disparity metric name (``demographic_parity_difference``, …, and
    ``selection_rate_ratio_to_reference``) to its threshold; names not given use
    :func:`monitor.engine.disparities.default_thresholds` (0.1 for differences, 0.8 for ratios).
    ``favourable_prediction`` says which decision is favourable to the person (1: approve, the
    default; 0: when 1 means high risk or deny), ``favourable_predictions`` overrides it per model
    id; ratios of selection rates (the four-fifths rule) compare favourable rates.
    ``reference_groups`` maps an attribute to its reference group (default: the most favoured
    group with enough data); ``reference_rates`` lists the rates whose ratio to the reference
    group is reported (``<rate>_ratio_to_reference``). ``max_groups`` caps the groups kept per
    attribute (largest first; the rest are counted in ``dropped_groups``). ``metrics`` restricts
    the disparities computed (default: all). ``bootstrap_samples`` draws, from ``seed``, give the
    disparities' intervals. ``score_bins`` equal score bins on [0, 1] hold each group's score
    histograms (labeled rows by label, scored predictions): the thresholds that alert advice can
    name are their edges. ``calibration_bins`` merges them for calibration (ECE, reliability
    diagram, ``calibration_difference``); it must divide ``score_bins``; by default 10 when 10
    divides ``score_bins``, else ``score_bins`` itself.
    """

    min_group_size: int = 30
    ci_level: float = 0.95
    mode: Mode = "confident"
    thresholds: Mapping[str, float] = field(default_factory=dict)
    reference_groups: Mapping[str, str] = field(default_factory=dict)
    reference_rates: tuple[str, ...] = ("selection_rate",)
    max_groups: int | None = 100
    bootstrap_samples: int = 1000
    seed: int = 20240521
    metrics: tuple[str, ...] | None = None
    favourable_prediction: int = 1
    favourable_predictions: Mapping[str, int] = field(default_factory=dict)
    score_bins: int = DEFAULT_SCORE_BINS
    calibration_bins: int | None = None

    def __post_init__(self) -> None:
        for name, check in FIELD_CHECKS.items():
            problem = check(getattr(self, name))
            if problem is not None:
                raise ValueError(f"{name}: {problem}")
        if self.calibration_bins is not None and self.score_bins % self.calibration_bins:
            raise ValueError(
                f"calibration_bins: must divide score_bins ({self.score_bins}), got "
                f"{self.calibration_bins}"
            )

    @property
    def calibration_bins_in_use(self) -> int:
        """The bins calibration is computed on (``calibration_bins`` or its default)."""
        if self.calibration_bins is not None:
            return self.calibration_bins
        if self.score_bins % DEFAULT_CALIBRATION_BINS == 0:
            return DEFAULT_CALIBRATION_BINS
        return self.score_bins

    def threshold(self, metric: str) -> float | None:
        if metric in self.thresholds:
            return self.thresholds[metric]
        return DEFAULT_THRESHOLDS.get(metric)

    def favourable(self, model_id: str) -> int:
        """The favourable prediction of ``model_id`` (1 unless configured otherwise)."""
        return self.favourable_predictions.get(model_id, self.favourable_prediction)


def _unknown_metrics(names: tuple[str, ...] | None) -> str | None:
    unknown = [name for name in names or () if name not in METRIC_BY_NAME]
    if unknown:
        return f"unknown disparity metrics {unknown}; known: {list(METRIC_BY_NAME)}"
    return None


def _unknown_rates(names: tuple[str, ...]) -> str | None:
    if any(name not in SIMULATED_RATES for name in names):
        return f"must be among {list(SIMULATED_RATES)}, got {list(names)}"
    return None


def _not_favourable(values: Any) -> str | None:
    if any(value not in FAVOURABLE_PREDICTIONS for value in values):
        return "must be 1 (approve) or 0 (1 = high risk, deny)"
    return None


#: What each setting accepts: a problem to report (after the field's name), or None.
FIELD_CHECKS: Mapping[str, Callable[[Any], str | None]] = MappingProxyType(
    {
        "min_group_size": lambda value: None if value >= 0 else f"must be >= 0, got {value}",
        "ci_level": lambda value: None if 0.0 < value < 1.0 else f"must lie in (0, 1), got {value}",
        "mode": lambda value: (
            None if value in MODES else f"must be 'point' or 'confident', got {value!r}"
        ),
        "reference_rates": _unknown_rates,
        "max_groups": lambda value: (
            None if value is None or value >= 1 else "must be at least 1 (or None for no cap)"
        ),
        "bootstrap_samples": lambda value: None if value >= 10 else "must be at least 10",
        "metrics": _unknown_metrics,
        "favourable_prediction": lambda value: _not_favourable([value]),
        "favourable_predictions": lambda values: _not_favourable(values.values()),
        "score_bins": lambda value: (
            None
            if 1 <= value <= MAX_SCORE_BINS
            else f"must lie in [1, {MAX_SCORE_BINS}], got {value}"
        ),
        "calibration_bins": lambda value: (
            None
            if value is None or 1 <= value <= MAX_SCORE_BINS
            else f"must lie in [1, {MAX_SCORE_BINS}] (or be unset), got {value}"
        ),
    }
)
