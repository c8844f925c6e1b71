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
    DisparityMetric,
    judge,
)
from monitor.disparity_intervals import (
    RateSpreads,
    Segments,
    combine_bounds,
    complement_spreads,
    metric_statistics,
    metric_values,
    rate_spreads,
)
from monitor.groups import SEPARATOR, cap_groups
from monitor.intervals import (
    adjusted_rate,
    normal_matrix,
    normal_row_maxima,
    ratio_interval,
    row_quantiles,
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
    ``small_groups`` says what a group below ``min_group_size`` predictions does to the
    disparities across its attribute: ``gate`` (default) makes them ``insufficient_data``;
    ``exclude`` leaves the group out of them (it keeps its per-group result and its own ratio to
    the reference) as long as two groups remain, so one tiny group does not silence the rest.
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
    small_groups: Literal["gate", "exclude"] = "gate"

    def __post_init__(self) -> None:
        if self.small_groups not in ("gate", "exclude"):
            raise ValueError(f"small_groups must be 'gate' or 'exclude', got {self.small_groups!r}")
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
    attribute is named like ``race&sex``. Attributes come out single ones first, then
    intersections, each sorted by name, groups sorted by name."""
    config = config or EngineConfig()
    by_attribute: dict[str, dict[str, GroupCounts]] = {}
    for (attribute, group), value in counts.items():
        by_attribute.setdefault(attribute, {})[group] = value
    attributes: list[str] = []
    names: list[list[str]] = []
    values: list[GroupCounts] = []
    dropped = 0
    for attribute in sorted(by_attribute, key=lambda name: (SEPARATOR in name, name)):
        members = by_attribute[attribute]
        kept, dropped_here = cap_groups({g: c.n for g, c in members.items()}, config.max_groups)
        dropped += dropped_here
        attributes.append(attribute)
        names.append(sorted(kept))
        values.extend(members[group] for group in names[-1])
    groups: tuple[GroupResult, ...] = ()
    disparities: tuple[Disparity, ...] = ()
    if values:
        matrix = counts_matrix(values)
        segments = Segments.from_sizes([len(group_names) for group_names in names])
        groups = tuple(_group_results(attributes, names, matrix, config))
        disparities = tuple(_disparities(attributes, names, matrix, segments, config))
    return WindowEvaluation(
        model_id=model_id,
        window=window,
        window_start=window_start,
        window_end=window_end,
        groups=groups,
        disparities=disparities,
        dropped_groups=dropped,
    )


def counts_matrix(values: list[GroupCounts]) -> np.ndarray:
    """Stack groups' counts into one int64 matrix (histograms widened to the widest)."""
    bins = max((value.score_bins for value in values), default=0)
    if bins == 0:
        return np.array(
            [(v.n, v.predicted_positive, v.tp, v.fp, v.tn, v.fn) for v in values],
            dtype=np.int64,
        ).reshape(len(values), BASE_WIDTH)
    matrix = np.zeros((len(values), row_width(bins)), dtype=np.int64)
    for index, value in enumerate(values):
        matrix[index] = value.to_row(bins)
    return matrix


def _group_results(
    attributes: list[str], names: list[list[str]], matrix: np.ndarray, config: EngineConfig
) -> list[GroupResult]:
    numerators, denominators = all_rate_counts(matrix)
    values = divide(numerators, denominators).tolist()
    low, high = wilson_interval(numerators, denominators, config.ci_level)
    lows, highs = low.tolist(), high.tolist()
    coverage = to_optional(label_coverage(matrix))
    ece = to_optional(expected_calibration_error(matrix))
    base = matrix[:, :BASE_WIDTH].tolist()
    results = []
    index = 0
    for attribute, group_names in zip(attributes, names, strict=True):
        for name in group_names:
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
            index += 1
    return results


def _spreads(
    matrix: np.ndarray,
    segments: Segments,
    metrics: list[DisparityMetric],
    config: EngineConfig,
) -> dict[str, RateSpreads]:
    """The spreads of every rate the metrics need, for every attribute at once: the rates are
    stacked as further segments, so one pass serves all (attribute, rate) pairs."""
    needed = {rate for metric in metrics for rate in metric.rates}
    rates = [
        (position, rate)
        for position, rate in enumerate(SIMULATED_RATES)
        if rate in needed or (rate == "tpr" and "fnr" in needed)
    ]
    spreads: dict[str, RateSpreads] = {}
    if not rates:
        return spreads
    largest = int(segments.sizes.max())
    rows = largest * len(SIMULATED_RATES)
    normals = normal_matrix(config.seed, config.bootstrap_samples, rows)
    maxima = normal_row_maxima(config.seed, config.bootstrap_samples, rows)
    numerators, denominators = zip(*(rate_counts(matrix, rate) for _p, rate in rates), strict=True)
    numerator, denominator = np.concatenate(numerators), np.concatenate(denominators)
    stacked = Segments.from_sizes(segments.sizes.tolist() * len(rates))
    offsets = np.repeat([position for position, _rate in rates], matrix.shape[0])
    ratio_rates = {rate for m in metrics if m.aggregation == "ratio" for rate in m.rates}
    together = rate_spreads(
        divide(numerator, denominator),
        adjusted_rate(numerator, denominator),
        denominator,
        stacked,
        normals,
        offsets,
        np.repeat([rate in ratio_rates for _position, rate in rates], matrix.shape[0]),
        maxima,
    )
    count = len(segments)
    for index, (_position, rate) in enumerate(rates):
        spreads[rate] = together.part(index * count, (index + 1) * count)
    if "fnr" in needed:  # FNR = 1 − TPR draw for draw
        fnr = divide(*rate_counts(matrix, "fnr"))
        spreads["fnr"] = complement_spreads(spreads["tpr"], fnr, segments)
    return spreads


def _disparities(
    attributes: list[str],
    names: list[list[str]],
    matrix: np.ndarray,
    segments: Segments,
    config: EngineConfig,
) -> list[Disparity]:
    metrics = [METRIC_BY_NAME[name] for name in config.metrics] if config.metrics else METRICS
    judged_matrix, judged_segments = _judged_groups(matrix, segments, config)
    spreads = _spreads(judged_matrix, judged_segments, list(metrics), config)
    statistics: list[np.ndarray] = []
    layout: list[tuple[int, list[int], int]] = []  # (metric, per-rate blocks, joint block)
    count = len(segments)
    for index, metric in enumerate(metrics):
        per_rate, joint = metric_statistics(metric, spreads)
        first = len(statistics)
        statistics.extend(per_rate)
        statistics.append(joint)
        layout.append((index, list(range(first, first + len(per_rate))), first + len(per_rate)))
    low, high = row_quantiles(np.concatenate(statistics, axis=0), config.ci_level)

    def block(values: np.ndarray, position: int) -> np.ndarray:
        return values[position * count : (position + 1) * count]

    table: list[tuple[str, Aggregation, list[float | None], list[float | None], list[float | None],
                      list[int]]] = []  # fmt: skip
    for index, per_rate_blocks, joint_block in layout:
        metric = metrics[index]
        value = metric_values(metric, spreads)
        lows, highs = combine_bounds(
            metric,
            spreads,
            value,
            [block(high, position) for position in per_rate_blocks],
            block(low, joint_block),
            block(high, joint_block),
        )
        min_trials = np.min(np.stack([spreads[rate].min_trials for rate in metric.rates]), axis=0)
        table.append(
            (metric.name, metric.aggregation, to_optional(value), to_optional(lows),
             to_optional(highs), min_trials.tolist())
        )  # fmt: skip
    references = _reference_ratios(attributes, names, matrix, segments, config)
    result: list[Disparity] = []
    for position, attribute in enumerate(attributes):
        for name, aggregation, row_values, row_lows, row_highs, min_ns in table:
            result.append(
                _disparity(
                    config,
                    attribute,
                    name,
                    aggregation,
                    row_values[position],
                    row_lows[position],
                    row_highs[position],
                    min_ns[position],
                )
            )
        result.extend(references[position])
    return result


def _judged_groups(
    matrix: np.ndarray, segments: Segments, config: EngineConfig
) -> tuple[np.ndarray, Segments]:
    """The groups the across-group disparities are computed over: all of them, or with
    ``small_groups="exclude"`` those with at least ``min_group_size`` predictions (an attribute
    with fewer than two such groups keeps all its groups, and so stays insufficient)."""
    if config.small_groups == "gate" or config.min_group_size == 0:
        return matrix, segments
    large = matrix[:, 0] >= config.min_group_size
    large_per_segment = np.bincount(segments.segment[large], minlength=len(segments))
    keep = large | (large_per_segment[segments.segment] < 2)
    if keep.all():
        return matrix, segments
    sizes = np.bincount(segments.segment[keep], minlength=len(segments))
    return matrix[keep], Segments.from_sizes(sizes.tolist())


def _disparity(
    config: EngineConfig,
    attribute: str,
    metric: str,
    kind: Aggregation | Literal["reference"],
    value: float | None,
    low: float | None,
    high: float | None,
    min_group_n: int,
    group: str | None = None,
    reference_group: str | None = None,
) -> Disparity:
    if value is None or low is None or high is None:
        low = high = None
    threshold = config.threshold(metric)
    return Disparity(
        attribute=attribute,
        metric=metric,
        value=value,
        ci_low=low,
        ci_high=high,
        min_group_n=int(min_group_n),
        status=judge(
            value, low, high, min_group_n, threshold, kind, config.mode, config.min_group_size
        ),
        threshold=threshold,
        mode=config.mode,
        group=group,
        reference_group=reference_group,
    )


def _reference_ratios(
    attributes: list[str],
    names: list[list[str]],
    matrix: np.ndarray,
    segments: Segments,
    config: EngineConfig,
) -> list[list[Disparity]]:
    """Per attribute, each group's rate over the reference group's (Katz log interval), judged
    by the four-fifths rule."""
    reference_rows = [
        _reference_row(attribute, group_names, matrix, int(start), config)
        for attribute, group_names, start in zip(attributes, names, segments.starts, strict=True)
    ]
    result: list[list[Disparity]] = [[] for _ in attributes]
    if not config.reference_rates:
        return result
    present = np.array([row is not None for row in reference_rows])
    row_of_segment = np.array([row if row is not None else 0 for row in reference_rows])
    reference = row_of_segment[segments.segment]
    for rate in config.reference_rates:
        metric = rate + REFERENCE_SUFFIX
        numerator, denominator = rate_counts(matrix, rate)
        estimate = divide(numerator, denominator)
        ratios = np.full(estimate.shape, np.nan)
        np.divide(estimate, estimate[reference], out=ratios, where=estimate[reference] > 0)
        low, high = ratio_interval(
            numerator, denominator, numerator[reference], denominator[reference], config.ci_level
        )
        ratio_list, lows, highs = to_optional(ratios), to_optional(low), to_optional(high)
        trials = denominator.tolist()
        for position, (attribute, group_names) in enumerate(zip(attributes, names, strict=True)):
            if not present[position]:
                if attribute in config.reference_groups:  # configured but absent from the window
                    result[position].append(
                        _disparity(config, attribute, metric, "reference", None, None, None, 0,
                                   reference_group=config.reference_groups[attribute])
                    )  # fmt: skip
                continue
            start = int(segments.starts[position])
            ref = int(row_of_segment[position])
            for local, group in enumerate(group_names):
                row = start + local
                if row == ref:
                    continue
                result[position].append(
                    _disparity(
                        config,
                        attribute,
                        metric,
                        "reference",
                        ratio_list[row],
                        lows[row],
                        highs[row],
                        min(trials[row], trials[ref]),
                        group=group,
                        reference_group=group_names[ref - start],
                    )
                )
    return result


def _reference_row(
    attribute: str, names: list[str], matrix: np.ndarray, start: int, config: EngineConfig
) -> int | None:
    """Row of the configured reference group if present, else of the largest group (ties by
    name); None when a configured reference group is absent or the attribute has one group."""
    if len(names) < 2:
        return None
    if attribute in config.reference_groups:
        wanted = config.reference_groups[attribute]
        return start + names.index(wanted) if wanted in names else None
    sizes = matrix[start : start + len(names), 0].tolist()
    largest = min(range(len(names)), key=lambda index: (-sizes[index], names[index]))
    return start + largest
