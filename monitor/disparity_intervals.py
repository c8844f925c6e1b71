"""Intervals of disparities from simulated group rates (see docs/metrics.md for the argument).

Notation: ``p_g`` a group's true rate, ``p̂_g`` its observed rate, ``p̃_g = (k + 1) / (n + 2)`` the
centre of its simulated draws ``p*_g`` and ``e*_g = p*_g − p̃_g`` the simulated estimation error.
For the difference ``D = max_g p − min_g p``, with ``T`` the groups that could be the highest
and ``B`` those that could be the lowest (*contenders*, see :func:`contenders`), the observed
extreme pair ``(a, b)`` and the true one ``(c, d)``:

* ``D ≥ p_a − p_b = D̂ − (e_a − e_b) ≥ D̂ − (max_T e − min_B e)``,
* ``D = p_c − p_d ≤ D̂ − (e_c − e_d) ≤ D̂ + (max_B e − min_T e)``.

The bounds replace the error terms by the percentiles of their simulated counterparts. When
every group is a contender this is Tukey's simultaneous range argument (it covers ``D = 0``,
where the plug-in ``max − min`` is biased upwards and a plain percentile interval misses); when
one group clearly leads and one clearly trails it reduces to the Agresti–Caffo interval of
their difference. Ratios ``R = min / max`` use the same argument on the log scale around
``R̃ = min p̃ / max p̃``. Worst cases over several rates (equalized odds) bound each rate and
combine them jointly per draw.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from monitor.disparities import Aggregation, DisparityMetric

_TINY = 1e-12  # floor for the logs of rates drawn at 0
_CONTENDER_Z = 1.96


@dataclass(frozen=True)
class RateSpread:
    """How one rate spreads across the groups of an attribute: estimates and simulated errors.

    ``highest``/``lowest`` (observed) and ``centre_ratio`` (``min p̃ / max p̃``) are NaN when fewer
    than two groups have the rate defined. The ``*_noise`` arrays hold one value per draw:
    ``lower_noise = max_T e* − min_B e*``, ``upper_noise = max_B e* − min_T e*`` and the same on
    the log scale (``log p* − log p̃``). ``min_trials`` is the smallest denominator over all groups.
    """

    defined_groups: int
    highest: float
    lowest: float
    centre_ratio: float
    lower_noise: np.ndarray
    upper_noise: np.ndarray
    log_lower_noise: np.ndarray
    log_upper_noise: np.ndarray
    min_trials: int

    def value(self, aggregation: Aggregation) -> float:
        """``max − min`` or ``min / max`` of the observed rates (NaN when undefined)."""
        if aggregation == "difference":
            return self.highest - self.lowest
        return self.lowest / self.highest if self.highest > 0 else float("nan")


def contenders(
    values: np.ndarray, centre: np.ndarray, trials: np.ndarray, z: float = _CONTENDER_Z
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the groups that could be the highest (``T``) and the lowest (``B``): those
    whose ``p̂ ± z·se`` range reaches the observed highest (lowest) group's range."""
    spread = z * np.sqrt(centre * (1.0 - centre) / (np.asarray(trials, dtype=np.float64) + 2.0))
    top_index, bottom_index = int(np.argmax(values)), int(np.argmin(values))
    top = np.flatnonzero(values + spread >= values[top_index] - spread[top_index])
    bottom = np.flatnonzero(values - spread <= values[bottom_index] + spread[bottom_index])
    return top, bottom


def _extreme(draws: np.ndarray, rows: np.ndarray, reduce: Callable[..., np.ndarray]) -> np.ndarray:
    """``reduce`` (np.max or np.min) over the given rows of ``draws``."""
    if rows.size == draws.shape[0]:
        return reduce(draws, axis=0)
    if rows.size == 1:
        return draws[int(rows[0])]
    return reduce(draws[rows], axis=0)


def rate_spread(
    estimate: np.ndarray,
    draws: np.ndarray,
    centre: np.ndarray,
    trials: np.ndarray,
    with_log: bool = True,
) -> RateSpread:
    """Summarise one rate over the groups; NaN estimates are undefined groups and are skipped.

    ``draws`` is ``groups × samples`` (from :func:`monitor.intervals.simulate_rates`);
    ``with_log=False`` skips the log-scale noise (only ratios need it).
    """
    samples = draws.shape[1]
    defined = np.flatnonzero(~np.isnan(estimate))
    min_trials = int(trials.min()) if trials.size else 0
    empty = np.full(samples, np.nan)
    if defined.size < 2:
        nan = float("nan")
        return RateSpread(int(defined.size), nan, nan, nan, empty, empty, empty, empty, min_trials)
    values = estimate[defined]
    if defined.size < estimate.size:
        draws, centre, trials = draws[defined], centre[defined], trials[defined]
    top, bottom = contenders(values, centre, trials)
    centre32 = centre.astype(np.float32)[:, None]
    noise = draws - centre32
    top_high, top_low = _extreme(noise, top, np.max), _extreme(noise, top, np.min)
    bottom_high, bottom_low = _extreme(noise, bottom, np.max), _extreme(noise, bottom, np.min)
    log_lower, log_upper = empty, empty
    if with_log:
        # log is monotone: extremes of log(p*/p̃) are the logs of the extremes of p*/p̃
        relative = draws / np.maximum(centre32, _TINY)

        def log_extreme(rows: np.ndarray, reduce: Callable[..., np.ndarray]) -> np.ndarray:
            return np.log(np.maximum(_extreme(relative, rows, reduce), _TINY))

        log_lower = log_extreme(top, np.max) - log_extreme(bottom, np.min)
        log_upper = log_extreme(bottom, np.max) - log_extreme(top, np.min)
    highest_centre, lowest_centre = float(centre.max()), float(centre.min())
    return RateSpread(
        defined_groups=int(defined.size),
        highest=float(values.max()),
        lowest=float(values.min()),
        centre_ratio=lowest_centre / highest_centre if highest_centre > 0 else float("nan"),
        lower_noise=top_high - bottom_low,
        upper_noise=bottom_high - top_low,
        log_lower_noise=log_lower,
        log_upper_noise=log_upper,
        min_trials=min_trials,
    )


def metric_value(metric: DisparityMetric, spreads: Mapping[str, RateSpread]) -> float:
    """The disparity's value: worst case over its rates of ``max − min`` or ``min / max``.

    NaN when a component is undefined (fewer than two defined groups, or a ratio whose largest
    rate is 0).
    """
    parts = [spreads[rate].value(metric.aggregation) for rate in metric.rates]
    if any(part != part for part in parts):
        return float("nan")
    return max(parts) if metric.aggregation == "difference" else min(parts)


def interval_statistics(
    metric: DisparityMetric, spreads: Mapping[str, RateSpread]
) -> tuple[list[np.ndarray], np.ndarray]:
    """Simulated statistics whose percentiles give the bounds: ``(per-rate, joint)``.

    Difference: the upper percentile of each rate's ``lower_noise`` gives that rate's lower
    bound; the joint draws ``max_r (D̂_r + upper_noise_r)`` give the upper bound (upper
    percentile). Ratio: the upper percentile of each rate's ``log_lower_noise`` gives its upper
    bound; the joint draws ``min_r R̃_r · exp(−log_upper_noise_r)`` give the lower bound (lower
    percentile).
    """
    per_rate = []
    joint = []
    for rate in metric.rates:
        spread = spreads[rate]
        if metric.aggregation == "difference":
            per_rate.append(spread.lower_noise)
            joint.append(spread.value("difference") + spread.upper_noise)
        else:
            per_rate.append(spread.log_lower_noise)
            joint.append(spread.centre_ratio * np.exp(-spread.log_upper_noise))
    if len(joint) == 1:
        return per_rate, joint[0]
    if metric.aggregation == "difference":
        return per_rate, np.maximum.reduce(joint)
    return per_rate, np.minimum.reduce(joint)


def combine_bounds(
    metric: DisparityMetric,
    spreads: Mapping[str, RateSpread],
    value: float,
    per_rate_high: list[float],
    joint_bounds: tuple[float, float],
) -> tuple[float, float]:
    """The interval from the percentiles of :func:`interval_statistics`; it always contains
    ``value`` and stays within the metric's range ([0, 1] for both kinds on rates)."""
    if metric.aggregation == "difference":
        low = max(
            spreads[rate].value("difference") - quantile
            for rate, quantile in zip(metric.rates, per_rate_high, strict=True)
        )
        low, high = max(0.0, low), min(1.0, joint_bounds[1])
    else:
        high = min(
            spreads[rate].centre_ratio * math.exp(min(quantile, 700.0))
            for rate, quantile in zip(metric.rates, per_rate_high, strict=True)
        )
        low, high = max(0.0, joint_bounds[0]), min(1.0, high)
    return min(low, value), max(high, value)
