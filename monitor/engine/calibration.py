"""Calibration per group and across groups, from the score histograms and score sums.

Per group, over its labeled rows that carry a score, with ``bins`` equal score bins on [0, 1]
(``engine.calibration_bins``: the histogram's finer bins merged, :meth:`ScoreBins.from_matrix`):
``c_b`` rows in bin ``b``, ``k_b`` of them with label 1, ``S_b`` the sum of their scores
(``mid_b · c_b`` plus the bin's offset sum, :mod:`monitor.engine.counts`), ``N = Σ c_b``:

* the reliability diagram: per bin the mean score ``S_b / c_b`` and the observed rate
  ``k_b / c_b`` (undefined for an empty bin);
* ``ece = Σ_b (c_b / N) · |k_b / c_b − S_b / c_b| = Σ_b |k_b − S_b| / N``;
* ``calibration_gap = (Σ_b S_b − Σ_b k_b) / N``, the mean score minus the observed rate
  (calibration in the large): positive when the scores overstate the group's outcome rate.

Each is undefined (NaN, ``None`` in results) when ``N = 0``.

Across the groups of an attribute, ``calibration_difference = max_g gap_g − min_g gap_g`` over
the groups with at least ``min_group_size`` labeled scored rows, judged like every difference.
Its interval uses the argument of :mod:`monitor.engine.disparity_intervals` (the contender range)
with
each group's estimation error ``e_g = ĝap_g − gap_g = X_g − P_g / N_g`` simulated from its per-bin
counts, the scores taken as given: ``X* ≈ Σ_b w_b p*_b`` (``w_b = c_b / N``) with ``p*_b`` from
bin ``b``'s Jeffreys distribution ``Beta(k_b + ½, c_b − k_b + ½)``, plus the multinomial spread of
the bin weights (another sample puts other shares of the rows in each bin),
``σ_w² = (Σ_b w_b d_b² − (Σ_b w_b d_b)²) / N`` with ``d_b = (S_b − k_b) / c_b``. ``X*`` is drawn
from one Beta per group with that mean and variance (exact for a single bin; drawing every bin
costs ten times more, most of it in the exact quantiles of small bins), through
:func:`monitor.engine.intervals.jeffreys_draws` from the engine's pool of normals, in an order and
with
signs seeded by the window's counts: the same counts give the same interval. docs/metrics.md has
the measured coverage.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from monitor.engine.config import EngineConfig
from monitor.engine.counts.layout import (
    BASE_WIDTH,
    NEGATIVES_BLOCK,
    OFFSETS_BLOCK,
    POSITIVES_BLOCK,
    SCORE_SCALE,
    bin_centres,
    bins_of_width,
    block,
)
from monitor.engine.disparities import SCORE_METRICS, DisparityMetric, judge
from monitor.engine.intervals import jeffreys_draws, normal_matrix, row_quantiles, window_generator
from monitor.engine.rates import divide
from monitor.engine.results import Disparity, ReliabilityBin
from monitor.engine.table import GroupTable

CALIBRATION_GAP = "calibration_gap"
CALIBRATION_DIFFERENCE = SCORE_METRICS[0]
_CONTENDER_Z = 1.96
#: A difference of two gaps in [-1, 1] lies in [0, 2].
_LARGEST_DIFFERENCE = 2.0


@dataclass(frozen=True)
class ScoreBins:
    """Per group (rows) and bin (columns): labeled scored rows ``count``, those with label 1
    ``positives`` and the sum of their scores ``score_sum`` (float64)."""

    count: np.ndarray
    positives: np.ndarray
    score_sum: np.ndarray

    @classmethod
    def from_matrix(cls, matrix: np.ndarray, calibration_bins: int | None = None) -> ScoreBins:
        """The bins of a counts matrix (no columns when it holds no histogram), merged into
        ``calibration_bins`` when that number divides the histogram's bins (runs of equal
        length: the counts and score sums add), else the histogram's own bins."""
        bins = bins_of_width(matrix.shape[1])
        negatives = matrix[:, block(bins, NEGATIVES_BLOCK)].astype(np.float64)
        positives = matrix[:, block(bins, POSITIVES_BLOCK)].astype(np.float64)
        offsets = matrix[:, block(bins, OFFSETS_BLOCK)].astype(np.float64)
        count = negatives + positives
        score_sum = bin_centres(bins) * count + offsets / SCORE_SCALE
        if bins and calibration_bins and calibration_bins < bins and bins % calibration_bins == 0:
            shape = (matrix.shape[0], calibration_bins, bins // calibration_bins)
            count = count.reshape(shape).sum(axis=2)
            positives = positives.reshape(shape).sum(axis=2)
            score_sum = score_sum.reshape(shape).sum(axis=2)
        return cls(count, positives, score_sum)

    @property
    def bins(self) -> int:
        return int(self.count.shape[1])

    @property
    def rows(self) -> np.ndarray:
        """Labeled scored rows per group (``N``)."""
        return self.count.sum(axis=1)

    def any_scored(self) -> bool:
        """Whether any group has a labeled row with a score."""
        return bool(self.count.any())


def expected_calibration_error(bins: ScoreBins) -> np.ndarray:
    """``Σ_b |k_b − S_b| / N`` per group: the ECE from each bin's mean score (not its centre);
    NaN when the group has no labeled scored row (or the counts no histogram)."""
    if bins.bins == 0:
        return np.full(bins.count.shape[0], np.nan)
    return divide(np.abs(bins.positives - bins.score_sum).sum(axis=1), bins.rows)


def calibration_gap(bins: ScoreBins) -> np.ndarray:
    """``(Σ S_b − Σ k_b) / N`` per group: mean score − observed rate (NaN when ``N = 0``)."""
    if bins.bins == 0:
        return np.full(bins.count.shape[0], np.nan)
    return divide(bins.score_sum.sum(axis=1) - bins.positives.sum(axis=1), bins.rows)


def reliability(bins: ScoreBins) -> list[tuple[ReliabilityBin, ...]]:
    """Per group, the reliability diagram: one :class:`ReliabilityBin` per score bin."""
    if bins.bins == 0:
        return [() for _ in range(bins.count.shape[0])]
    edges = np.linspace(0.0, 1.0, bins.bins + 1).tolist()
    means = divide(bins.score_sum, bins.count).tolist()
    observed = divide(bins.positives, bins.count).tolist()
    counts = bins.count.astype(np.int64).tolist()
    return [
        tuple(
            ReliabilityBin(
                lower=edges[b],
                upper=edges[b + 1],
                n=group_counts[b],
                mean_score=None if group_means[b] != group_means[b] else group_means[b],
                observed_rate=None if group_observed[b] != group_observed[b] else group_observed[b],
            )
            for b in range(bins.bins)
        )
        for group_counts, group_means, group_observed in zip(counts, means, observed, strict=True)
    ]


@dataclass(frozen=True)
class _Outcomes:
    """Per group: the observed rate of label 1 (``P / N``) and a Beta distribution
    ``Beta(k + ½, n − k + ½)`` (``k``, ``n`` real) for the rate its rows' outcomes could have
    had, with the mean and variance of ``Σ_b w_b p*_b`` plus the bin-weight spread."""

    observed: np.ndarray
    successes: np.ndarray
    trials: np.ndarray
    deviation: np.ndarray


def _outcomes(bins: ScoreBins, rows: np.ndarray) -> _Outcomes:
    count, positives = bins.count[rows], bins.positives[rows]
    total = count.sum(axis=1)
    weight = count / total[:, None]
    filled = count > 0
    gap_per_bin = np.where(filled, divide(bins.score_sum[rows] - positives, count), 0.0)
    mean_gap = (weight * gap_per_bin).sum(axis=1)
    between = np.maximum((weight * gap_per_bin**2).sum(axis=1) - mean_gap**2, 0.0) / total
    a, b = positives + 0.5, count - positives + 0.5
    jeffreys_mean = np.where(filled, a / (a + b), 0.0)
    jeffreys_variance = np.where(filled, a * b / ((a + b) ** 2 * (a + b + 1.0)), 0.0)
    mean = (weight * jeffreys_mean).sum(axis=1)
    variance = (weight**2 * jeffreys_variance).sum(axis=1) + between
    # Beta(α, β) with this mean and variance: α + β = m (1 − m) / v − 1
    size = np.maximum(mean * (1.0 - mean) / variance - 1.0, 1e-6)
    trials = np.maximum(size - 1.0, 1e-6)
    observed = positives.sum(axis=1) / total
    successes = np.clip(mean * size - 0.5, 0.0, trials)
    # no events (or no non-events) at all: keep the Jeffreys boundary adjustment
    successes = np.where(observed == 0.0, 0.0, np.where(observed == 1.0, trials, successes))
    return _Outcomes(observed, successes, trials, np.sqrt(variance))


def _errors(
    outcomes: _Outcomes, simulated: np.ndarray, generator: np.random.Generator,
    config: EngineConfig,
) -> np.ndarray:  # fmt: skip
    """Simulated errors ``e*_g = X*_g − P_g / N_g`` of the groups ``simulated`` (rows ×
    samples, float32), ``X*`` drawn from each group's moment-matched Beta."""
    normals = normal_matrix(config.seed, config.bootstrap_samples, simulated.size)
    order = generator.permutation(simulated.size)
    signs = np.where(generator.integers(0, 2, simulated.size) == 1, 1.0, -1.0)
    errors = jeffreys_draws(  # P / N − X*
        outcomes.successes[simulated],
        outcomes.trials[simulated],
        normals,
        order,
        signs,
        errors_from=outcomes.observed[simulated],
    )
    np.negative(errors, out=errors)
    return errors


def calibration_disparities(table: GroupTable, config: EngineConfig) -> list[Disparity]:
    """``calibration_difference`` of every attribute (one per attribute, in order), with its
    interval, status, extremes (``rate: calibration_gap``) and small groups."""
    attributes, names, matrix, segments = (
        table.attributes,
        table.names,
        table.matrix,
        table.segments,
    )
    metric: DisparityMetric = CALIBRATION_DIFFERENCE
    bins = ScoreBins.from_matrix(matrix, config.calibration_bins_in_use)
    gaps = calibration_gap(bins)
    evidence = bins.rows.astype(np.int64)
    taking_part = evidence >= max(config.min_group_size, 1)
    threshold = config.threshold(metric.name)
    # seeded by the labeled rows' cells (not the predictions'): what the interval is about
    offsets = block(bins_of_width(matrix.shape[1]), OFFSETS_BLOCK)
    labeled_cells = matrix[:, BASE_WIDTH : offsets.stop]
    generator = window_generator(labeled_cells, segments.sizes)
    group_names = [name for attribute_names in names for name in attribute_names]
    result = []
    for position, attribute in enumerate(attributes):
        start = int(segments.starts[position])
        rows = np.arange(start, start + int(segments.sizes[position]))
        part = rows[taking_part[rows]]
        small = tuple(group_names[row] for row in rows[~taking_part[rows]].tolist())
        smallest = int(evidence[part].min() if part.size >= 2 else evidence[rows].min())
        value = low = high = None
        extremes: dict[str, str | float] = {}
        if part.size >= 2:
            part_gaps = gaps[part]
            top, bottom = int(part[np.argmax(part_gaps)]), int(part[np.argmin(part_gaps)])
            value = float(gaps[top] - gaps[bottom])
            low, high = _interval(bins, part, gaps, value, generator, config)
            extremes = {
                "rate": CALIBRATION_GAP,
                "highest_group": group_names[top],
                "highest_rate": float(gaps[top]),
                "lowest_group": group_names[bottom],
                "lowest_rate": float(gaps[bottom]),
            }
        result.append(
            Disparity(
                attribute=attribute,
                metric=metric.name,
                value=value,
                ci_low=low,
                ci_high=high,
                min_group_n=smallest,
                status=judge(value, low, high, threshold, metric.aggregation, config.mode),
                threshold=threshold,
                mode=config.mode,
                small_groups=small,
                **extremes,  # type: ignore[arg-type]
            )
        )
    return result


def _interval(
    bins: ScoreBins,
    part: np.ndarray,
    gaps: np.ndarray,
    value: float,
    generator: np.random.Generator,
    config: EngineConfig,
) -> tuple[float, float]:
    """The contender-range interval of ``max − min`` of the gaps of the groups ``part``.

    ``T`` (could be the highest: upper limit at least the largest lower limit) and ``B`` (could
    be the lowest) from each gap ± 1.96 standard deviations; then
    ``[D̂ − q(max_T e* − min_B e*), q(D̂ + max_B e* − min_T e*)]`` with ``q`` the upper
    ``1 − α/2`` percentile, within [0, 2] and containing ``D̂``."""
    outcomes = _outcomes(bins, part)
    estimate = gaps[part]
    lower_limit = estimate - _CONTENDER_Z * outcomes.deviation
    upper_limit = estimate + _CONTENDER_Z * outcomes.deviation
    in_top = upper_limit >= lower_limit.max()
    in_bottom = lower_limit <= upper_limit.min()
    simulated = np.flatnonzero(in_top | in_bottom)
    errors = _errors(outcomes, simulated, generator, config)
    top, bottom = errors[in_top[simulated]], errors[in_bottom[simulated]]
    lower_noise = top.max(axis=0) - bottom.min(axis=0)
    upper_draws = value + bottom.max(axis=0) - top.min(axis=0)
    _lows, highs = row_quantiles(np.stack([lower_noise, upper_draws]), config.ci_level)
    low = min(max(value - float(highs[0]), 0.0), value)
    high = max(min(float(highs[1]), _LARGEST_DIFFERENCE), value)
    return low, high
