"""The metric engine: a pure function from per-group counts to a :class:`WindowEvaluation`.

No I/O and no clock: the same counts and configuration always give the same evaluation,
intervals included (the simulation draws come from a fixed seed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from monitor.counts import BASE_WIDTH, GroupCounts, row_width
from monitor.disparities import (
    METRIC_BY_NAME,
    METRICS,
    REFERENCE_SUFFIX,
    aggregate,
    default_thresholds,
    judge,
    worst_case,
)
from monitor.groups import SEPARATOR, cap_groups
from monitor.intervals import (
    bias_corrected_interval,
    normal_matrix,
    simulate_rates,
    wilson_interval,
)
from monitor.rates import (
    RATE_NAMES,
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
        return default_thresholds().get(metric)


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
    rates: dict[str, list[float | None]] = {}
    lows: dict[str, list[float | None]] = {}
    highs: dict[str, list[float | None]] = {}
    for rate in RATE_NAMES:
        numerator, denominator = rate_counts(matrix, rate)
        low, high = wilson_interval(numerator, denominator, config.ci_level)
        rates[rate] = to_optional(divide(numerator, denominator))
        lows[rate], highs[rate] = to_optional(low), to_optional(high)
    coverage = to_optional(label_coverage(matrix))
    ece = to_optional(expected_calibration_error(matrix))
    base = matrix[:, :BASE_WIDTH].tolist()
    results = []
    for index, name in enumerate(names):
        n, predicted_positive, tp, fp, tn, fn = base[index]
        intervals: dict[str, tuple[float, float] | None] = {}
        for rate in RATE_NAMES:
            low_value, high_value = lows[rate][index], highs[rate][index]
            intervals[rate] = (
                None if low_value is None or high_value is None else (low_value, high_value)
            )
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
                rates={rate: rates[rate][index] for rate in RATE_NAMES},
                intervals=intervals,
                label_coverage=coverage[index],
                ece=ece[index],
            )
        )
    return results


def _disparities(
    attribute: str, names: list[str], matrix: np.ndarray, config: EngineConfig
) -> list[Disparity]:
    group_count = len(names)
    samples = config.bootstrap_samples
    estimates: dict[str, np.ndarray] = {}
    draws: dict[str, np.ndarray] = {}
    trials: dict[str, np.ndarray] = {}
    normals = normal_matrix(config.seed, samples, group_count * len(SIMULATED_RATES))
    for position, rate in enumerate(SIMULATED_RATES):
        numerator, denominator = rate_counts(matrix, rate)
        trials[rate] = denominator
        estimates[rate] = divide(numerator, denominator)
        block = normals[:, position * group_count : (position + 1) * group_count]
        draws[rate] = simulate_rates(numerator, denominator, block)
    estimates["fnr"] = 1.0 - estimates["tpr"]
    draws["fnr"] = 1.0 - draws["tpr"]
    trials["fnr"] = trials["tpr"]

    metrics = [METRIC_BY_NAME[name] for name in config.metrics] if config.metrics else METRICS
    names_out: list[str] = []
    values: list[np.ndarray] = []
    statistics: list[np.ndarray] = []
    min_ns: list[int] = []
    kinds: list[str] = []
    groups_out: list[str | None] = []
    references: list[str | None] = []
    for metric in metrics:
        values.append(
            worst_case([aggregate(estimates[r], metric.aggregation) for r in metric.rates],
                       metric.aggregation)
        )
        statistics.append(
            worst_case([aggregate(draws[r], metric.aggregation) for r in metric.rates],
                       metric.aggregation)
        )
        min_ns.append(int(min(trials[r].min() for r in metric.rates)) if group_count else 0)
        names_out.append(metric.name)
        kinds.append(metric.aggregation)
        groups_out.append(None)
        references.append(None)

    reference = _reference_group(attribute, names, matrix, config)
    if reference is not None and group_count > 1:
        ref_index = names.index(reference)
        for rate in config.reference_rates:
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio_estimate = estimates[rate] / estimates[rate][ref_index]
                ratio_draws = draws[rate] / draws[rate][:, ref_index : ref_index + 1]
            ratio_estimate[~np.isfinite(ratio_estimate)] = np.nan
            ratio_draws[~np.isfinite(ratio_draws)] = np.nan
            for index, group in enumerate(names):
                if index == ref_index:
                    continue
                names_out.append(rate + REFERENCE_SUFFIX)
                values.append(ratio_estimate[index])
                statistics.append(ratio_draws[:, index])
                min_ns.append(int(min(trials[rate][index], trials[rate][ref_index])))
                kinds.append("reference")
                groups_out.append(group)
                references.append(reference)
    elif reference is None and attribute in config.reference_groups:
        for rate in config.reference_rates:
            names_out.append(rate + REFERENCE_SUFFIX)
            values.append(np.array(np.nan))
            statistics.append(np.full(samples, np.nan))
            min_ns.append(0)
            kinds.append("reference")
            groups_out.append(None)
            references.append(config.reference_groups[attribute])

    if not names_out:
        return []
    estimate_vector = np.array([float(value) for value in values])
    low, high = bias_corrected_interval(
        estimate_vector, np.column_stack(statistics), config.ci_level
    )
    estimate_list = to_optional(estimate_vector)
    low_list, high_list = to_optional(low), to_optional(high)
    result = []
    for index, name in enumerate(names_out):
        value = estimate_list[index]
        low_value = None if value is None else low_list[index]
        high_value = None if value is None else high_list[index]
        if value is not None and low_value is not None and high_value is not None:
            low_value, high_value = min(low_value, value), max(high_value, value)
        threshold = config.threshold(name)
        kind = kinds[index]
        result.append(
            Disparity(
                attribute=attribute,
                metric=name,
                value=value,
                ci_low=low_value,
                ci_high=high_value,
                min_group_n=min_ns[index],
                status=judge(
                    value,
                    low_value,
                    high_value,
                    min_ns[index],
                    threshold,
                    "reference" if kind == "reference" else METRIC_BY_NAME[name].aggregation,
                    config.mode,
                    config.min_group_size,
                ),
                threshold=threshold,
                mode=config.mode,
                group=groups_out[index],
                reference_group=references[index],
            )
        )
    return result


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
