"""The metric engine: a pure function from per-group counts to a :class:`WindowEvaluation`.

No I/O and no clock: the same counts and configuration always give the same evaluation,
intervals included (the simulation draws come from a fixed seed). Each disparity compares the
groups with enough data for its rates (:mod:`monitor.engine.evidence`); ratios to the reference
group are in :mod:`monitor.engine.reference`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from monitor.engine.calibration import (
    CALIBRATION_GAP,
    ScoreBins,
    calibration_disparities,
    calibration_gap,
    expected_calibration_error,
    reliability,
)
from monitor.engine.config import SIMULATED_RATES, EngineConfig
from monitor.engine.counts import GroupCounts
from monitor.engine.counts.layout import (
    BASE_WIDTH,
    NEGATIVES_BLOCK,
    POSITIVES_BLOCK,
    PREDICTIONS_BLOCK,
    bins_of_width,
    block,
    row_width,
)
from monitor.engine.disparities import (
    METRIC_BY_NAME,
    METRICS,
    SCORE_METRICS,
    DisparityMetric,
    judge,
)
from monitor.engine.disparity_intervals import (
    RateSpreads,
    Segments,
    combine_bounds,
    complement_spreads,
    metric_statistics,
    metric_values,
    rate_spreads,
)
from monitor.engine.evidence import FAVOURABLE_RATE, Comparison, compare, small_rows
from monitor.engine.groups import SEPARATOR, cap_groups
from monitor.engine.intervals import (
    adjusted_rate,
    normal_matrix,
    normal_row_maxima,
    row_quantiles,
    wilson_interval,
)
from monitor.engine.rates import RATE_NAMES, all_rate_counts, divide, label_coverage, to_optional
from monitor.engine.reference import compared_rate, reference_ratios
from monitor.engine.results import Disparity, GroupResult, ScoreHistogram, WindowEvaluation
from monitor.engine.table import GroupTable

__all__ = ["SIMULATED_RATES", "EngineConfig", "counts_matrix", "evaluate"]


def evaluate(
    model_id: str,
    window: str,
    window_start: float,
    window_end: float,
    counts: Mapping[tuple[str, str], GroupCounts],
    config: EngineConfig | None = None,
) -> WindowEvaluation:
    """Evaluate one window: per-group rates with Wilson intervals, disparities with simulation
    intervals and statuses; with scores, calibration per group and ``calibration_difference``
    (:mod:`monitor.engine.calibration`). ``counts`` is keyed by ``(attribute, group)``; an
    intersection's attribute is named like ``race&sex``. Attributes come out single ones first, then
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
        groups = tuple(_group_results(attributes, names, matrix, config))
        table = GroupTable.of(attributes, names, matrix)
        disparities = tuple(_disparities(table, config, config.favourable(model_id)))
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


def score_histograms(matrix: np.ndarray) -> list[ScoreHistogram | None]:
    """Each row's :class:`ScoreHistogram` (None for a row without any scored row, and for every
    row of a matrix without histograms)."""
    bins = bins_of_width(matrix.shape[1])
    if not bins:
        return [None] * matrix.shape[0]
    predicted = matrix[:, block(bins, PREDICTIONS_BLOCK)]
    labeled = matrix[:, BASE_WIDTH : block(bins, POSITIVES_BLOCK).stop]
    flags = np.asarray(predicted.any(axis=1) | labeled.any(axis=1), dtype=bool)
    scored: list[bool] = flags.tolist()
    if not any(scored):
        return [None] * matrix.shape[0]
    predictions = predicted.tolist()
    negatives = matrix[:, block(bins, NEGATIVES_BLOCK)].tolist()
    positives = matrix[:, block(bins, POSITIVES_BLOCK)].tolist()
    return [
        ScoreHistogram(tuple(predictions[row]), tuple(negatives[row]), tuple(positives[row]))
        if flag
        else None
        for row, flag in enumerate(scored)
    ]


def _group_results(
    attributes: list[str], names: list[list[str]], matrix: np.ndarray, config: EngineConfig
) -> list[GroupResult]:
    numerators, denominators = all_rate_counts(matrix)
    values = divide(numerators, denominators).tolist()
    below = denominators < max(config.min_group_size, 1)
    # most groups share a pattern (none small): name each pattern once
    patterns = {
        pattern.tobytes(): tuple(
            rate for rate, flag in zip(RATE_NAMES, pattern.tolist(), strict=True) if flag
        )
        for pattern in np.unique(below, axis=0)
    }
    small = [patterns[row.tobytes()] for row in below]
    low, high = wilson_interval(numerators, denominators, config.ci_level)
    lows, highs = low.tolist(), high.tolist()
    coverage = to_optional(label_coverage(matrix))
    bins = ScoreBins.from_matrix(matrix, config.calibration_bins_in_use)
    ece = to_optional(expected_calibration_error(bins))
    gaps = to_optional(calibration_gap(bins))
    diagrams = reliability(bins)
    histograms = score_histograms(matrix)
    if bins.any_scored():  # a group with too few labeled scored rows is small for calibration
        too_few = (bins.rows < max(config.min_group_size, 1)).tolist()
        small = [
            (*rates, CALIBRATION_GAP) if few else rates
            for rates, few in zip(small, too_few, strict=True)
        ]
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
                    small_rates=small[index],
                    calibration_gap=gaps[index],
                    reliability=diagrams[index] if ece[index] is not None else (),
                    score_histogram=histograms[index],
                )
            )
            index += 1
    return results


def _comparisons(
    matrix: np.ndarray, segments: Segments, rates: set[str], config: EngineConfig
) -> dict[str, Comparison]:
    """The comparison of every rate the metrics need (the TPR's too when the FNR is needed: its
    draws are the TPR's)."""
    needed = set(rates) | ({"tpr"} if "fnr" in rates else set())
    return compare(matrix, sorted(needed), segments, config.min_group_size)


def _spreads(
    segments: Segments,
    comparisons: dict[str, Comparison],
    log_rates: set[str],
    config: EngineConfig,
) -> dict[str, RateSpreads]:
    """The spreads of every compared rate, for every attribute at once: the rates are stacked
    as further segments, so one pass serves all (attribute, rate) pairs. A group that does not
    take part in a rate's comparison is undefined there (NaN), so the simulation skips it."""
    simulated = sorted(rate for rate in comparisons if rate != "fnr")
    spreads: dict[str, RateSpreads] = {}
    if not simulated:
        return spreads
    rows = int(segments.sizes.max()) * len(SIMULATED_RATES)
    normals = normal_matrix(config.seed, config.bootstrap_samples, rows)
    maxima = normal_row_maxima(config.seed, config.bootstrap_samples, rows)
    parts = [comparisons[rate] for rate in simulated]
    numerator = np.concatenate([part.numerator for part in parts])
    denominator = np.concatenate([part.trials for part in parts])
    estimate = np.concatenate([part.estimate for part in parts])
    groups = parts[0].trials.shape[0]
    positions = [
        SIMULATED_RATES.index("selection_rate" if rate == FAVOURABLE_RATE else rate)
        for rate in simulated
    ]
    together = rate_spreads(
        estimate,
        adjusted_rate(numerator, denominator),
        denominator,
        Segments.from_sizes(segments.sizes.tolist() * len(simulated)),
        normals,
        np.repeat(positions, groups),
        np.repeat([rate in log_rates for rate in simulated], groups),
        maxima,
    )
    count = len(segments)
    for index, rate in enumerate(simulated):
        spreads[rate] = together.part(index * count, (index + 1) * count)
    if "fnr" in comparisons:  # FNR = 1 − TPR draw for draw
        spreads["fnr"] = complement_spreads(spreads["tpr"], comparisons["fnr"].estimate, segments)
    return spreads


def _compared_rates(metric: DisparityMetric, favourable: int) -> tuple[str, ...]:
    """The rates a metric compares: ratios of selection rates compare favourable rates."""
    if metric.aggregation == "ratio":
        return tuple(compared_rate(rate, favourable) for rate in metric.rates)
    return metric.rates


def _disparities(table: GroupTable, config: EngineConfig, favourable: int) -> list[Disparity]:
    """Per attribute: the rate metrics in table order, the score metrics, the reference ratios.

    Score metrics (``calibration_difference``) are computed when the window holds labeled
    rows with a score; without any they are left out (a model without scores has none)."""
    wanted = config.metrics or tuple(METRIC_BY_NAME)
    metrics = [METRIC_BY_NAME[name] for name in wanted if METRIC_BY_NAME[name] in METRICS]
    per_metric = _rate_disparities(table, config, favourable, metrics) if metrics else []
    if any(metric.name in wanted for metric in SCORE_METRICS) and (
        ScoreBins.from_matrix(table.matrix).any_scored()
    ):
        per_metric.append(calibration_disparities(table, config))
    references = reference_ratios(table, config, favourable)
    result: list[Disparity] = []
    for position in range(len(table.attributes)):
        result.extend(disparities[position] for disparities in per_metric)
        result.extend(references[position])
    return result


def _rate_disparities(
    table: GroupTable, config: EngineConfig, favourable: int, metrics: list[DisparityMetric]
) -> list[list[Disparity]]:
    """Per rate metric, its disparity of every attribute."""
    attributes, names, matrix, segments = (
        table.attributes,
        table.names,
        table.matrix,
        table.segments,
    )
    compared = {metric.name: _compared_rates(metric, favourable) for metric in metrics}
    comparisons = _comparisons(
        matrix, segments, {rate for rates in compared.values() for rate in rates}, config
    )
    log_rates = {
        rate
        for metric in metrics
        if metric.aggregation == "ratio"
        for rate in compared[metric.name]
    }
    spreads = _spreads(segments, comparisons, log_rates, config)
    by_metric = [
        {
            base: spreads[rate]
            for base, rate in zip(metric.rates, compared[metric.name], strict=True)
        }
        for metric in metrics
    ]
    statistics: list[np.ndarray] = []
    layout: list[tuple[list[int], int]] = []  # per metric: (per-rate blocks, joint block)
    for metric, metric_spreads in zip(metrics, by_metric, strict=True):
        per_rate, joint = metric_statistics(metric, metric_spreads)
        first = len(statistics)
        statistics.extend(per_rate)
        statistics.append(joint)
        layout.append((list(range(first, first + len(per_rate))), first + len(per_rate)))
    low, high = row_quantiles(np.concatenate(statistics, axis=0), config.ci_level)
    count = len(segments)

    def block(values: np.ndarray, position: int) -> np.ndarray:
        return values[position * count : (position + 1) * count]

    group_names = [name for attribute_names in names for name in attribute_names]
    per_metric: list[list[Disparity]] = []
    for metric, metric_spreads, (per_rate_blocks, joint_block) in zip(
        metrics, by_metric, layout, strict=True
    ):
        value = metric_values(metric, metric_spreads)
        lows, highs = combine_bounds(
            metric,
            metric_spreads,
            value,
            [block(high, position) for position in per_rate_blocks],
            block(low, joint_block),
            block(high, joint_block),
        )
        per_metric.append(
            _metric_disparities(
                metric,
                [comparisons[rate] for rate in compared[metric.name]],
                _drivers(metric, metric_spreads),
                (to_optional(value), to_optional(lows), to_optional(highs)),
                attributes,
                segments,
                group_names,
                config,
            )
        )
    return per_metric


def _drivers(metric: DisparityMetric, spreads: dict[str, RateSpreads]) -> list[int]:
    """Per segment, the index in ``metric.rates`` of the rate that sets the worst case (the
    first on ties)."""
    parts = np.stack([spreads[rate].values(metric.aggregation) for rate in metric.rates])
    if metric.aggregation == "difference":
        return np.argmax(np.where(np.isnan(parts), -np.inf, parts), axis=0).tolist()
    return np.argmin(np.where(np.isnan(parts), np.inf, parts), axis=0).tolist()


def _metric_disparities(
    metric: DisparityMetric,
    comparisons: list[Comparison],
    drivers: list[int],
    bounds: tuple[list[float | None], list[float | None], list[float | None]],
    attributes: list[str],
    segments: Segments,
    group_names: list[str],
    config: EngineConfig,
) -> list[Disparity]:
    """One metric's disparity per attribute, with its extremes and its small groups."""
    values, lows, highs = bounds
    left_out = np.flatnonzero(small_rows(comparisons))
    bounds_of = [*np.searchsorted(left_out, segments.starts).tolist(), left_out.size]
    smallest = np.min(np.stack([comparison.smallest for comparison in comparisons]), axis=0)
    threshold = config.threshold(metric.name)
    result = []
    for position, attribute in enumerate(attributes):
        value, low, high = values[position], lows[position], highs[position]
        if value is None or low is None or high is None:
            low = high = None
        extremes: dict[str, str | float | None] = {}
        if value is not None:
            driver = comparisons[drivers[position]]
            top, bottom = int(driver.highest[position]), int(driver.lowest[position])
            extremes = {
                "rate": driver.rate,
                "highest_group": group_names[top],
                "highest_rate": float(driver.estimate[top]),
                "lowest_group": group_names[bottom],
                "lowest_rate": float(driver.estimate[bottom]),
            }
        result.append(
            Disparity(
                attribute=attribute,
                metric=metric.name,
                value=value,
                ci_low=low,
                ci_high=high,
                min_group_n=int(smallest[position]),
                status=judge(value, low, high, threshold, metric.aggregation, config.mode),
                threshold=threshold,
                mode=config.mode,
                small_groups=tuple(
                    group_names[row]
                    for row in left_out[bounds_of[position] : bounds_of[position + 1]].tolist()
                ),
                **extremes,  # type: ignore[arg-type]
            )
        )
    return result
