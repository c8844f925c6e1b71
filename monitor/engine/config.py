"""How the metric engine judges windows: :class:`EngineConfig`, defaults in one place."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from monitor.engine.disparities import DEFAULT_THRESHOLDS, METRIC_BY_NAME
from monitor.engine.results import Mode

SIMULATED_RATES: tuple[str, ...] = ("selection_rate", "tpr", "fpr", "ppv", "accuracy")
FAVOURABLE_PREDICTIONS = (0, 1)


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
    group with enough data). ``max_groups`` caps the groups kept per attribute (largest first;
    the rest are counted in ``dropped_groups``). ``metrics`` restricts the disparities computed
    (default: all).
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

    def __post_init__(self) -> None:
        if self.mode not in ("point", "confident"):
            raise ValueError(f"mode must be 'point' or 'confident', got {self.mode!r}")
        if not 0.0 < self.ci_level < 1.0:
            raise ValueError(f"ci_level must lie in (0, 1), got {self.ci_level}")
        if self.min_group_size < 0:
            raise ValueError("min_group_size must be >= 0")
        if self.bootstrap_samples < 10:
            raise ValueError("bootstrap_samples must be at least 10")
        if self.max_groups is not None and self.max_groups < 1:
            raise ValueError("max_groups must be at least 1 (or None for no cap)")
        unknown = [name for name in self.metrics or () if name not in METRIC_BY_NAME]
        if unknown:
            raise ValueError(f"unknown disparity metrics {unknown}; known: {list(METRIC_BY_NAME)}")
        unknown_rates = [name for name in self.reference_rates if name not in SIMULATED_RATES]
        if unknown_rates:
            raise ValueError(f"reference_rates must be among {list(SIMULATED_RATES)}")
        favourable = [self.favourable_prediction, *self.favourable_predictions.values()]
        if any(value not in FAVOURABLE_PREDICTIONS for value in favourable):
            raise ValueError("favourable_prediction must be 1 (approve) or 0 (1 = high risk, deny)")

    def threshold(self, metric: str) -> float | None:
        if metric in self.thresholds:
            return self.thresholds[metric]
        return DEFAULT_THRESHOLDS.get(metric)

    def favourable(self, model_id: str) -> int:
        """The favourable prediction of ``model_id`` (1 unless configured otherwise)."""
        return self.favourable_predictions.get(model_id, self.favourable_prediction)
