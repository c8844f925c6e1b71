"""Intervals of disparities from simulated group rates (docs/metrics.md has the argument).

Notation: ``p_g`` a group's true rate, ``p̂_g`` its observed rate, ``p*_g`` a draw from its
Jeffreys confidence distribution ``Beta(k + ½, n − k + ½)`` (:func:`monitor.engine.intervals.
jeffreys_draws`) and ``e*_g = p̂_g − p*_g`` the simulated counterpart of the estimation error
``e_g = p̂_g − p_g``. For the difference ``D = max_g p − min_g p``, with ``T`` the groups that
could be the highest and ``B`` those that could be the lowest (*contenders*: a group whose
Jeffreys 95% range reaches the largest lower limit, resp. the smallest upper limit), the
observed extreme pair ``(a, b)`` and the true one ``(c, d)``:

* ``D ≥ p_a − p_b = D̂ − (e_a − e_b) ≥ D̂ − (max_T e − min_B e)``,
* ``D = p_c − p_d ≤ D̂ − (e_c − e_d) ≤ D̂ + (max_B e − min_T e)``.

The bounds replace the error terms by the upper percentiles of their simulated counterparts.
When every group is a contender this is Tukey's simultaneous range argument (it covers
``D = 0``, where the plug-in ``max − min`` is biased upwards and a plain percentile interval
misses); when one group clearly leads and one clearly trails it reduces to the percentile
interval of ``p*_a − p*_b``, the Jeffreys-prior interval of a difference of two proportions
(Agresti and Min 2005; its closed-form cousin is Laud's MOVER-J, the Newcombe hybrid score
interval with Jeffreys limits in place of Wilson's). Ratios ``R = min / max`` use the same
argument on the log scale, with errors ``log p̃ − log p*`` around ``p̃ = (k + 1) / (n + 2)`` and
``R̃ = min p̃ / max p̃``.

Why Jeffreys draws: the confidence distribution is skewed where the data are (a group at 0/50
can have a true rate of 0.05 but not below 0), so each tail of each group has about its nominal
probability — Brown, Cai and DasGupta (2001) and Cai (2005) find the Jeffreys limits accurate
one tail at a time, which is what a lower or an upper bound of a disparity uses. A symmetric
normal draw clipped to [0, 1] (the earlier method) treats 0/50 as known to ±0.02 and covered
91–93% near rates of 0 or 1.

Worst cases over several rates (equalized odds, ``max_r D_r``) combine each rate's lower bound
(the largest wins) and, for the upper bound, the per-draw worst case ``max_r (D̂_r + …)``. A
lower bound fails when *any* rate's does, so with ``m`` rates each rate's statistic is the
maximum of ``m`` independent copies of its draws: its percentile at ``1 − α/2`` is the draws'
percentile at ``(1 − α/2)^{1/m}`` (Šidák), and the worst case keeps a tail of ``α/2``. Ratios
mirror this.

Everything here works on *segments*: the groups of several attributes stacked in one array,
each attribute a contiguous run of rows, so one call serves every attribute of a window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from monitor.engine.disparities import Aggregation, DisparityMetric
from monitor.engine.intervals import jeffreys_draws, jeffreys_quantile, window_generator

_TINY = 1e-12  # floor for the logs of rates drawn at 0
_CONTENDER_Z = 1.96
_MAX_EXPONENT = 700.0


@dataclass(frozen=True)
class Segments:
    """Contiguous runs of rows, one per attribute: ``starts``, ``sizes``; for each row its
    ``segment`` and its ``local`` index within the segment."""

    starts: np.ndarray
    sizes: np.ndarray
    segment: np.ndarray
    local: np.ndarray

    @classmethod
    def from_sizes(cls, sizes: list[int]) -> Segments:
        size_array = np.asarray(sizes, dtype=np.int64)
        if size_array.size == 0 or size_array.min() < 1:
            raise ValueError("every segment needs at least one row")
        starts = np.concatenate(([0], np.cumsum(size_array)[:-1]))
        segment = np.repeat(np.arange(size_array.size), size_array)
        local = np.arange(int(size_array.sum())) - starts[segment]
        return cls(starts, size_array, segment, local)

    def __len__(self) -> int:
        return int(self.sizes.size)


@dataclass(frozen=True)
class RateSpreads:
    """How one rate spreads across the groups of each segment (arrays indexed by segment).

    ``highest``/``lowest`` (observed) and ``centre_ratio`` (``min p̃ / max p̃``) are NaN when fewer
    than two groups have the rate defined. The ``*_noise`` arrays (segments × samples) hold
    ``lower_noise = max_T e* − min_B e*``, ``upper_noise = max_B e* − min_T e*`` and the same on
    the log scale (``e* = log p̃ − log p*``); rows of undefined segments are NaN. ``min_trials`` is
    the smallest denominator over all the segment's groups.
    """

    defined_groups: np.ndarray
    highest: np.ndarray
    lowest: np.ndarray
    centre_ratio: np.ndarray
    lower_noise: np.ndarray
    upper_noise: np.ndarray
    log_lower_noise: np.ndarray
    log_upper_noise: np.ndarray
    min_trials: np.ndarray

    def part(self, start: int, stop: int) -> RateSpreads:
        """The spreads of segments ``start..stop`` (one rate when rates were stacked)."""
        return RateSpreads(*(getattr(self, name)[start:stop] for name in self.__dataclass_fields__))

    def values(self, aggregation: Aggregation) -> np.ndarray:
        """``max − min`` or ``min / max`` of the observed rates per segment (NaN: undefined)."""
        if aggregation == "difference":
            return self.highest - self.lowest
        result = np.full(self.highest.shape, np.nan)
        np.divide(self.lowest, self.highest, out=result, where=self.highest > 0)
        return result


def _segment_extremes(
    estimate: np.ndarray, defined: np.ndarray, segments: Segments
) -> tuple[np.ndarray, np.ndarray]:
    highest = np.maximum.reduceat(np.where(defined, estimate, -np.inf), segments.starts)
    lowest = np.minimum.reduceat(np.where(defined, estimate, np.inf), segments.starts)
    return highest, lowest


def _subset_extremes(
    values: np.ndarray, member: np.ndarray, row_segment: np.ndarray, segment_count: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per segment, the max and min over the member rows of ``values`` (rows × samples); rows
    are sorted by segment. Segments without members get NaN.

    Few segments, or segments of very different sizes, are reduced one by one (single members
    copied at once); many similar ones are laid out in a padded (segments × members × samples)
    block and reduced in one call (``ufunc.reduceat`` along the first axis is several times
    slower than either).
    """
    samples = values.shape[1]
    highest = np.full((segment_count, samples), np.nan, dtype=values.dtype)
    lowest = highest.copy()
    selected = np.flatnonzero(member)
    if selected.size == 0:
        return highest, lowest
    segment_of = row_segment[selected]
    per_segment = np.bincount(segment_of, minlength=segment_count)
    first = np.cumsum(per_segment) - per_segment
    present = np.flatnonzero(per_segment)
    width = int(per_segment.max())
    subset = values if selected.size == values.shape[0] else values[selected]
    if present.size <= 16 or width * segment_count > 2 * selected.size + 64:
        single = present[per_segment[present] == 1]
        highest[single] = lowest[single] = subset[first[single]]
        for segment in present[per_segment[present] > 1]:
            rows = subset[first[segment] : first[segment] + per_segment[segment]]
            highest[segment], lowest[segment] = rows.max(axis=0), rows.min(axis=0)
        return highest, lowest
    position = np.arange(selected.size) - first[segment_of]
    padded = np.full((segment_count, width, samples), -np.inf, dtype=values.dtype)
    padded[segment_of, position] = subset
    highest[present] = padded.max(axis=1)[present]
    padded.fill(np.inf)
    padded[segment_of, position] = subset
    lowest[present] = padded.min(axis=1)[present]
    return highest, lowest


def rate_spreads(
    estimate: np.ndarray,
    centre: np.ndarray,
    trials: np.ndarray,
    segments: Segments,
    normals: np.ndarray,
    normal_offset: int | np.ndarray,
    with_log: bool | np.ndarray = True,
    normal_maxima: np.ndarray | None = None,
) -> RateSpreads:
    """Summarise one rate over the groups of every segment.

    ``estimate`` is NaN for undefined groups (they are skipped); ``centre`` the adjusted rates
    ``(k + 1) / (n + 2)``, the centres of the log-scale noise. ``normals`` is the pool of
    standard normals the draws are made from: a group uses pool row
    ``order[normal_offset · size + local]`` (``normal_offset`` may be given per group) times a
    sign, where ``order`` (a permutation of the pool's rows) and the signs are drawn per call
    from :func:`monitor.engine.intervals.window_generator` seeded by the counts and the pool; so a
    group's draws change from window to window but not between evaluations of the same counts.
    Only contenders are simulated: other groups cannot change the bounds. ``with_log`` (for
    all groups or per group) limits the log-scale noise, which only ratios need, to where it is
    wanted. ``normal_maxima`` is not needed any more (the draws need no clipping) and ignored.
    """
    del normal_maxima
    count, samples = len(segments), normals.shape[1]
    defined = ~np.isnan(estimate)
    defined_groups = np.add.reduceat(defined.astype(np.int64), segments.starts)
    usable = defined_groups >= 2
    highest, lowest = _segment_extremes(estimate, defined, segments)
    highest[~usable], lowest[~usable] = np.nan, np.nan
    centre_high, centre_low = _segment_extremes(centre, defined, segments)
    centre_ratio = np.full(count, np.nan)
    np.divide(centre_low, centre_high, out=centre_ratio, where=usable & (centre_high > 0))
    trial_counts = np.where(defined, trials, 1)
    successes = np.where(defined, np.rint(np.nan_to_num(estimate) * trial_counts), 0.0)
    limit_low, limit_high = jeffreys_quantile(
        successes, trial_counts, np.array([[-_CONTENDER_Z], [_CONTENDER_Z]])
    )
    bar_top = np.maximum.reduceat(np.where(defined, limit_low, -np.inf), segments.starts)
    bar_bottom = np.minimum.reduceat(np.where(defined, limit_high, np.inf), segments.starts)
    eligible = defined & usable[segments.segment]
    in_top = eligible & (limit_high >= bar_top[segments.segment])
    in_bottom = eligible & (limit_low <= bar_bottom[segments.segment])
    rows = np.flatnonzero(in_top | in_bottom)
    row_segment = segments.segment[rows]
    offset = normal_offset[rows] if isinstance(normal_offset, np.ndarray) else normal_offset
    generator = window_generator(successes, trial_counts, segments.sizes, normals[0, :4])
    order = generator.permutation(normals.shape[0])
    pool_signs = np.where(generator.integers(0, 2, normals.shape[0]) == 1, 1.0, -1.0)
    normal_rows = order[offset * segments.sizes[row_segment] + segments.local[rows]]
    observed = estimate[rows]
    noise = jeffreys_draws(  # e* = p̂ − p*
        successes[rows],
        trial_counts[rows],
        normals,
        normal_rows,
        pool_signs[normal_rows],
        errors_from=observed,
    )
    top, bottom = in_top[rows], in_bottom[rows]
    same = bool(np.array_equal(top, bottom))  # every group a contender both ways
    top_high, top_low = _subset_extremes(noise, top, row_segment, count)
    bottom_high, bottom_low = (
        (top_high, top_low) if same else _subset_extremes(noise, bottom, row_segment, count)
    )
    log_lower = log_upper = np.full((count, samples), np.nan, dtype=np.float32)
    wanted = with_log[rows] if isinstance(with_log, np.ndarray) else np.full(rows.size, with_log)
    logged = np.flatnonzero(wanted)
    if logged.size:
        # the log-scale error log p̃ − log p* falls as p* / p̃ rises: its extremes over a set
        # of groups come from the extremes of p* / p̃
        if logged.size < rows.size:
            noise_rows, log_top, log_bottom = noise[logged], top[logged], bottom[logged]
            log_segment = row_segment[logged]
        else:
            noise_rows, log_top, log_bottom, log_segment = noise, top, bottom, row_segment
        scale = 1.0 / np.maximum(centre[rows[logged]], _TINY)
        # p* / p̃ = p̂ / p̃ − e* / p̃, in place: the errors' extremes are already taken
        relative = noise_rows
        relative *= (-scale).astype(np.float32)[:, None]
        relative += (observed[logged] * scale).astype(np.float32)[:, None]
        rel_top_high, rel_top_low = _subset_extremes(relative, log_top, log_segment, count)
        rel_bottom_high, rel_bottom_low = (
            (rel_top_high, rel_top_low)
            if same
            else _subset_extremes(relative, log_bottom, log_segment, count)
        )

        def log(values: np.ndarray) -> np.ndarray:
            return np.log(np.maximum(values, _TINY))

        with np.errstate(invalid="ignore"):
            # max_T e − min_B e and max_B e − min_T e with e = −log(p* / p̃)
            log_lower = log(rel_bottom_high) - log(rel_top_low)
            log_upper = log(rel_top_high) - log(rel_bottom_low)
    return RateSpreads(
        defined_groups=defined_groups,
        highest=highest,
        lowest=lowest,
        centre_ratio=centre_ratio,
        lower_noise=top_high - bottom_low,
        upper_noise=bottom_high - top_low,
        log_lower_noise=log_lower,
        log_upper_noise=log_upper,
        min_trials=np.minimum.reduceat(trials, segments.starts),
    )


def complement_spreads(
    spreads: RateSpreads, complement: np.ndarray, segments: Segments
) -> RateSpreads:
    """The spreads of ``1 − rate`` (the FNR from the TPR), draw for draw: the highest group
    becomes the lowest, so the noise ranges are unchanged. ``complement`` holds the complement's
    own estimates (computed from its counts, for exact values)."""
    highest, lowest = _segment_extremes(complement, ~np.isnan(complement), segments)
    usable = spreads.defined_groups >= 2
    highest[~usable], lowest[~usable] = np.nan, np.nan
    nan_noise = np.full_like(spreads.lower_noise, np.nan)
    return RateSpreads(
        defined_groups=spreads.defined_groups,
        highest=highest,
        lowest=lowest,
        centre_ratio=np.full(highest.shape, np.nan),  # the complement's ratio is not declared
        lower_noise=spreads.lower_noise,
        upper_noise=spreads.upper_noise,
        log_lower_noise=nan_noise,
        log_upper_noise=nan_noise,
        min_trials=spreads.min_trials,
    )


def metric_values(metric: DisparityMetric, spreads: dict[str, RateSpreads]) -> np.ndarray:
    """The disparity per segment: worst case over its rates of ``max − min`` or ``min / max``;
    NaN when a component is undefined."""
    parts = np.stack([spreads[rate].values(metric.aggregation) for rate in metric.rates])
    # np.max / np.min propagate NaN: undefined if any component is
    return np.max(parts, axis=0) if metric.aggregation == "difference" else np.min(parts, axis=0)


def metric_statistics(
    metric: DisparityMetric, spreads: dict[str, RateSpreads]
) -> tuple[list[np.ndarray], np.ndarray]:
    """Simulated statistics (segments × samples) whose percentiles give the bounds:
    ``(per rate, joint)``.

    Difference: the upper percentile of each rate's ``lower_noise`` gives that rate's lower
    bound; the joint draws ``max_r (D̂_r + upper_noise_r)`` give the upper bound (upper
    percentile). Ratio: the upper percentile of each rate's ``log_lower_noise`` gives its upper
    bound; the joint draws ``min_r R̃_r · exp(−log_upper_noise_r)`` give the lower bound (lower
    percentile). With ``m > 1`` rates a rate's statistic is the largest of ``m`` independent
    copies of its draws (the draws shifted by ``j · samples / m``), so that the ``m`` per-rate
    bounds hold together at the nominal level (Šidák).
    """
    per_rate, joint = [], []
    copies = len(metric.rates)
    for rate in metric.rates:
        spread = spreads[rate]
        if metric.aggregation == "difference":
            per_rate.append(_largest_of_copies(spread.lower_noise, copies))
            joint.append(spread.values("difference")[:, None] + spread.upper_noise)
        else:
            per_rate.append(_largest_of_copies(spread.log_lower_noise, copies))
            joint.append(spread.centre_ratio[:, None] * np.exp(-spread.log_upper_noise))
    if len(joint) == 1:
        return per_rate, joint[0]
    if metric.aggregation == "difference":
        return per_rate, np.maximum.reduce(joint)
    return per_rate, np.minimum.reduce(joint)


def _largest_of_copies(draws: np.ndarray, copies: int) -> np.ndarray:
    """Per column, the largest of ``copies`` independent draws: the draws and their shifts by
    whole fractions of the samples (draws in different columns are independent). NaN rows stay
    NaN."""
    if copies == 1:
        return draws
    samples = draws.shape[1]
    largest = draws.copy()
    for copy in range(1, copies):
        np.fmax(largest, np.roll(draws, copy * samples // copies, axis=1), out=largest)
    return largest


def combine_bounds(
    metric: DisparityMetric,
    spreads: dict[str, RateSpreads],
    value: np.ndarray,
    per_rate_high: list[np.ndarray],
    joint_low: np.ndarray,
    joint_high: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds per segment from the percentiles of :func:`metric_statistics`;
    they contain ``value``, stay within [0, 1] and are NaN where ``value`` is."""
    with np.errstate(invalid="ignore", over="ignore"):
        if metric.aggregation == "difference":
            low = np.max(
                np.stack(
                    [
                        spreads[rate].values("difference") - quantile
                        for rate, quantile in zip(metric.rates, per_rate_high, strict=True)
                    ]
                ),
                axis=0,
            )
            low, high = np.maximum(low, 0.0), np.minimum(joint_high, 1.0)
        else:
            high = np.min(
                np.stack(
                    [
                        spreads[rate].centre_ratio * np.exp(np.minimum(quantile, _MAX_EXPONENT))
                        for rate, quantile in zip(metric.rates, per_rate_high, strict=True)
                    ]
                ),
                axis=0,
            )
            low, high = np.maximum(joint_low, 0.0), np.minimum(high, 1.0)
        low, high = np.fmin(low, value), np.fmax(high, value)
    undefined = np.isnan(value)
    low[undefined], high[undefined] = np.nan, np.nan
    return low, high
