"""The metric engine: a pure function from per-group counts to a :class:`WindowEvaluation`.

No I/O and no clock: the same counts and configuration always give the same evaluation,
intervals included (the simulation draws come from a fixed seed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from monitor.counts import BASE_WIDTH, GroupCounts, row_width
from monitor.disparities import (
    DEFAULT_THRESHOLDS,
    METRIC_BY_NAME,
    METRICS,
    REFERENCE_SUFFIX,
    Aggregation,
    judge,
)
from monitor.disparity_intervals import (
    RateSpread,
    combine_bounds,
    interval_statistics,
    metric_value,
    rate_spread,
)
from monitor.groups import SEPARATOR, cap_groups
from monitor.intervals import (
    adjusted_rate,
    normal_matrix,
    ratio_interval,
    row_quantiles,
    simulate_rates,
    wilson_interval,
)
from monitor.rates import (
    RATE_NAMES,
    all_rate_counts,
    divide,
    expected_calibration_error,
    label_coverage,
    rate_counts,
    to_optional,
)
from monitor.results import Disparity, GroupResult, Mode, WindowEvaluation

SIMULATED_RATES: tuple[str, ...] = ("selection_rate", "tpr", "fpr", "ppv", "accuracy")


@dataclass(frozen=True)
class EngineConfig:
    """How windows are judged. Defaults in one place.

    ``thresholds`` maps a disparity metric name (``demographic_parity_difference``, …, and
    ``selection_rate_ratio_to_reference``) to its threshold; names not given use
    :func:`monitor.disparities.default_thresholds` (0.1 for differences, 0.8 for ratios).
    ``reference_groups`` maps an attribute to its reference group (default: the largest group).
    ``max_groups`` caps the groups kept per attribute (largest first; the rest are counted in
    ``dropped_groups``). ``metrics`` restricts the disparities computed (default: all).
    """

    min_group_size: int = 30
    ci_level: float = 0.95
    mode: Mode = "point"
    thresholds: Mapping[str, float] = field(default_factory=dict)
    reference_groups: Mapping[str, str] = field(default_factory=dict)
    reference_rates: tuple[str, ...] = ("selection_rate",)
    max_groups: int | None = 100
    bootstrap_samples: int = 1000
    seed: int = 20240521
    metrics: tuple[str, ...] | None = None

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

    def threshold(self, metric: str) -> float | None:
        if metric in self.thresholds:
            return self.thresholds[metric]
        return DEFAULT_THRESHOLDS.get(metric)


def evaluate(
    model_id: str,
    window: str,
    window_start: float,
    window_end: float,
    counts: Mapping[tuple[str, str], GroupCounts],
    config: EngineConfig | None = None,
) -> WindowEvaluation:
    """Evaluate one window: per-group rates with Wilson intervals, disparities with simulation
    intervals and statuses. ``counts`` is keyed by ``(attribute, group)``; an intersection's
    attribute is named like ``race&sex``."""
    config = config or EngineConfig()
    by_attribute: dict[str, dict[str, GroupCounts]] = {}
    for (attribute, group), value in counts.items():
        by_attribute.setdefault(attribute, {})[group] = value
    groups: list[GroupResult] = []
    disparities: list[Disparity] = []
    dropped = 0
    for attribute in sorted(by_attribute, key=lambda name: (SEPARATOR in name, name)):
        members = by_attribute[attribute]
        kept, dropped_here = cap_groups({g: c.n for g, c in members.items()}, config.max_groups)
        dropped += dropped_here
        names = sorted(kept)
        result = _evaluate_attribute(attribute, names, [members[g] for g in names], config)
        groups.extend(result[0])
        disparities.extend(result[1])
    return WindowEvaluation(
        model_id=model_id,
        window=window,
        window_start=window_start,
        window_end=window_end,
        groups=tuple(groups),
        disparities=tuple(disparities),
        dropped_groups=dropped,
    )


def counts_matrix(values: list[GroupCounts]) -> np.ndarray:
    """Stack groups' counts into one int64 matrix (histograms widened to the widest)."""
    bins = max((value.score_bins for value in values), default=0)
    matrix = np.zeros((len(values), row_width(bins)), dtype=np.int64)
    for index, value in enumerate(values):
        matrix[index] = value.to_row(bins)
    return matrix


def _evaluate_attribute(
    attribute: str, names: list[str], values: list[GroupCounts], config: EngineConfig
) -> tuple[list[GroupResult], list[Disparity]]:
    matrix = counts_matrix(values)
    group_results = _group_results(attribute, names, matrix, config)
    disparities = _disparities(attribute, names, matrix, config)
    return group_results, disparities


def _group_results(
    attribute: str, names: list[str], matrix: np.ndarray, config: EngineConfig
) -> list[GroupResult]:
    numerators, denominators = all_rate_counts(matrix)
    values = divide(numerators, denominators).tolist()
    low, high = wilson_interval(numerators, denominators, config.ci_level)
    lows, highs = low.tolist(), high.tolist()
    coverage = to_optional(label_coverage(matrix))
    ece = to_optional(expected_calibration_error(matrix))
    base = matrix[:, :BASE_WIDTH].tolist()
    results = []
    for index, name in enumerate(names):
        n, predicted_positive, tp, fp, tn, fn = base[index]
        row_values, row_lows, row_highs = values[index], lows[index], highs[index]
        results.append(
            GroupResult(
                attribute=attribute,
                group=name,
                n=n,
                n_labeled=tp + fp + tn + fn,
                predicted_positive=predicted_positive,
                tp=tp,
                fp=fp,
                tn=tn,
                fn=fn,
                rates={
                    rate: None if value != value else value
                    for rate, value in zip(RATE_NAMES, row_values, strict=True)
                },
                intervals={
                    rate: None if low_value != low_value else (low_value, high_value)
                    for rate, low_value, high_value in zip(
                        RATE_NAMES, row_lows, row_highs, strict=True
                    )
                },
                label_coverage=coverage[index],
                ece=ece[index],
            )
        )
    return results


@dataclass
class _Pending:
    """A disparity whose value is known and whose interval awaits the batched percentiles."""

    metric: str
    kind: Aggregation | Literal["reference"]
    value: float
    min_group_n: int
    per_rate_columns: list[int] = field(default_factory=list)
    joint_column: int | None = None
    interval: tuple[float, float] | None = None
    group: str | None = None
    reference_group: str | None = None


def _disparities(
    attribute: str, names: list[str], matrix: np.ndarray, config: EngineConfig
) -> list[Disparity]:
    group_count = len(names)
    samples = config.bootstrap_samples
    normals = normal_matrix(config.seed, samples, group_count * len(SIMULATED_RATES))
    metrics = [METRIC_BY_NAME[name] for name in config.metrics] if config.metrics else METRICS
    needed = {rate for metric in metrics for rate in metric.rates}
    simulated = needed | set(config.reference_rates) | ({"tpr"} if "fnr" in needed else set())
    estimates: dict[str, np.ndarray] = {}
    draws: dict[str, np.ndarray] = {}
    trials: dict[str, np.ndarray] = {}
    centres: dict[str, np.ndarray] = {}
    for position, rate in enumerate(SIMULATED_RATES):
        if rate not in simulated:
            continue
        numerator, denominator = rate_counts(matrix, rate)
        trials[rate] = denominator
        estimates[rate] = divide(numerator, denominator)
        centres[rate] = adjusted_rate(numerator, denominator)
        block = normals[position * group_count : (position + 1) * group_count]
        draws[rate] = simulate_rates(numerator, denominator, block)
    if "fnr" in needed:
        estimates["fnr"] = divide(*rate_counts(matrix, "fnr"))
        draws["fnr"] = 1.0 - draws["tpr"]
        centres["fnr"] = 1.0 - centres["tpr"]
        trials["fnr"] = trials["tpr"]
    ratio_rates = {
        rate for metric in metrics if metric.aggregation == "ratio" for rate in metric.rates
    }
    spreads = {
        rate: rate_spread(
            estimates[rate], draws[rate], centres[rate], trials[rate], rate in ratio_rates
        )
        for rate in needed
    }

    columns: list[np.ndarray] = []
    pending: list[_Pending] = []

    def add_column(draw: np.ndarray) -> int:
        columns.append(draw)
        return len(columns) - 1

    for metric in metrics:
        per_rate, joint = interval_statistics(metric, spreads)
        pending.append(
            _Pending(
                metric=metric.name,
                kind=metric.aggregation,
                value=metric_value(metric, spreads),
                min_group_n=min(spreads[rate].min_trials for rate in metric.rates),
                per_rate_columns=[add_column(column) for column in per_rate],
                joint_column=add_column(joint),
            )
        )
    pending.extend(_reference_ratios(attribute, names, matrix, config, estimates))
    if not pending:
        return []
    lows: list[float] = []
    highs: list[float] = []
    if columns:
        low, high = row_quantiles(np.vstack(columns), config.ci_level)
        lows, highs = low.tolist(), high.tolist()
    return [_finish(attribute, item, spreads, lows, highs, config) for item in pending]


def _reference_ratios(
    attribute: str,
    names: list[str],
    matrix: np.ndarray,
    config: EngineConfig,
    estimates: dict[str, np.ndarray],
) -> list[_Pending]:
    """Each group's rate over the reference group's (Katz log interval), judged by the
    four-fifths rule."""
    reference = _reference_group(attribute, names, matrix, config)
    pending: list[_Pending] = []
    if reference is None:
        if attribute in config.reference_groups:  # configured but absent from this window
            for rate in config.reference_rates:
                pending.append(
                    _Pending(
                        rate + REFERENCE_SUFFIX,
                        "reference",
                        float("nan"),
                        0,
                        reference_group=config.reference_groups[attribute],
                    )
                )
        return pending
    ref = names.index(reference)
    for rate in config.reference_rates:
        numerator, denominator = rate_counts(matrix, rate)
        estimate = estimates[rate]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = np.where(estimate[ref] > 0, estimate / estimate[ref], np.nan)
        low, high = ratio_interval(
            numerator, denominator, numerator[ref], denominator[ref], config.ci_level
        )
        ratio_list, lows, highs = ratios.tolist(), low.tolist(), high.tolist()
        group_trials = denominator.tolist()
        for index, group in enumerate(names):
            if index == ref:
                continue
            pending.append(
                _Pending(
                    metric=rate + REFERENCE_SUFFIX,
                    kind="reference",
                    value=ratio_list[index],
                    min_group_n=int(min(group_trials[index], group_trials[ref])),
                    interval=(lows[index], highs[index]),
                    group=group,
                    reference_group=reference,
                )
            )
    return pending


def _finish(
    attribute: str,
    item: _Pending,
    spreads: Mapping[str, RateSpread],
    lows: list[float],
    highs: list[float],
    config: EngineConfig,
) -> Disparity:
    value: float | None = None if item.value != item.value else item.value
    low: float | None = None
    high: float | None = None
    if value is not None:
        if item.interval is not None:
            low, high = item.interval
            if low != low or high != high:
                low = high = None
            else:
                low, high = min(low, value), max(high, value)
        elif item.joint_column is not None:
            metric = METRIC_BY_NAME[item.metric]
            low, high = combine_bounds(
                metric,
                spreads,
                value,
                [highs[column] for column in item.per_rate_columns],
                (lows[item.joint_column], highs[item.joint_column]),
            )
    threshold = config.threshold(item.metric)
    return Disparity(
        attribute=attribute,
        metric=item.metric,
        value=value,
        ci_low=low,
        ci_high=high,
        min_group_n=item.min_group_n,
        status=judge(
            value,
            low,
            high,
            item.min_group_n,
            threshold,
            item.kind,
            config.mode,
            config.min_group_size,
        ),
        threshold=threshold,
        mode=config.mode,
        group=item.group,
        reference_group=item.reference_group,
    )


def _reference_group(
    attribute: str, names: list[str], matrix: np.ndarray, config: EngineConfig
) -> str | None:
    """The configured reference group if present, else the largest group (ties by name)."""
    if attribute in config.reference_groups:
        wanted = config.reference_groups[attribute]
        return wanted if wanted in names else None
    if not names:
        return None
    sizes = matrix[:, 0].tolist()
    largest = min(range(len(names)), key=lambda index: (-sizes[index], names[index]))
    return names[largest]
