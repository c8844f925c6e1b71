"""Confidence intervals from counts alone.

* A group rate ``k / n`` gets the Wilson score interval.
* A disparity (a function of several groups' rates) gets a simulation interval: each group's rate
  is drawn as ``p̃ + se · Z`` with the Agresti–Caffo adjusted estimate ``p̃ = (k + 1) / (n + 2)``
  and ``se = sqrt(p̃ (1 − p̃) / (n + 2))``, the disparity is computed on every draw, and the
  interval is read from the draws' quantiles with Efron's bias correction (the worst-case
  difference ``max − min`` is biased upwards when groups are close; the correction moves the
  quantiles back). For two groups and a difference this reproduces the Agresti–Caffo interval.
  ``Z`` is a fixed standard-normal matrix generated from the configured seed, so the same counts
  always give the same interval (a window re-evaluated after a late label is stable).
"""

from __future__ import annotations

import math
from functools import lru_cache
from statistics import NormalDist

import numpy as np
from scipy.special import ndtr, ndtri

_BLOCK = 64  # columns of the normal matrix generated per seed block


def z_value(level: float) -> float:
    """Two-sided standard-normal quantile of a confidence level (1.959964 for 0.95)."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"confidence level must lie in (0, 1), got {level}")
    return NormalDist().inv_cdf(0.5 + level / 2.0)


def wilson_interval(
    successes: np.ndarray, trials: np.ndarray, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of ``successes / trials`` per element; NaN where ``trials`` is 0.

    ``(p + z²/2n ± z·sqrt(p(1−p)/n + z²/4n²)) / (1 + z²/n)`` with ``p = successes / trials``.
    """
    z = z_value(level)
    k = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        z2n = z * z / n
        centre = (p + z2n / 2.0) / (1.0 + z2n)
        half = z * np.sqrt(p * (1.0 - p) / n + z2n / (4.0 * n)) / (1.0 + z2n)
    low = np.clip(centre - half, 0.0, 1.0)
    high = np.clip(centre + half, 0.0, 1.0)
    undefined = n <= 0
    low[undefined] = np.nan
    high[undefined] = np.nan
    return low, high


@lru_cache(maxsize=256)
def _normal_block(seed: int, samples: int, block: int) -> np.ndarray:
    rng = np.random.default_rng([seed, samples, block])
    matrix = rng.standard_normal((samples, _BLOCK))
    matrix.setflags(write=False)
    return matrix


def normal_matrix(seed: int, samples: int, columns: int, offset: int = 0) -> np.ndarray:
    """A fixed ``samples × columns`` standard-normal matrix: columns ``offset..offset+columns``
    of an endless matrix determined by ``seed`` (so a column's draws never depend on how many
    other columns were asked for)."""
    first, last = offset // _BLOCK, (offset + columns - 1) // _BLOCK
    if columns <= 0:
        return np.empty((samples, 0))
    blocks = [_normal_block(seed, samples, block) for block in range(first, last + 1)]
    joined = blocks[0] if len(blocks) == 1 else np.concatenate(blocks, axis=1)
    start = offset - first * _BLOCK
    return joined[:, start : start + columns]


def simulate_rates(
    successes: np.ndarray, trials: np.ndarray, normals: np.ndarray
) -> np.ndarray:
    """Draws of each group's rate (``samples × groups``), clipped to [0, 1]; NaN columns where
    the rate is undefined."""
    k = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    adjusted = (k + 1.0) / (n + 2.0)
    spread = np.sqrt(adjusted * (1.0 - adjusted) / (n + 2.0))
    draws = adjusted + normals * spread
    np.clip(draws, 0.0, 1.0, out=draws)
    draws[:, n <= 0] = np.nan
    return draws


def bias_corrected_interval(
    estimate: np.ndarray, draws: np.ndarray, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Bias-corrected percentile interval per column of ``draws`` (samples × statistics).

    ``z0 = Φ⁻¹(share of draws below the estimate, ties half)``; the bounds are the draws'
    quantiles at ``Φ(2·z0 ± z)``. Columns whose estimate is NaN, or whose draws are all NaN,
    give NaN.
    """
    samples, statistics = draws.shape
    low = np.full(statistics, np.nan)
    high = np.full(statistics, np.nan)
    if statistics == 0 or samples == 0:
        return low, high
    ordered = np.sort(draws, axis=0)  # NaN sorts last
    valid = np.sum(~np.isnan(draws), axis=0)
    below = np.sum(draws < estimate, axis=0) + 0.5 * np.sum(draws == estimate, axis=0)
    z = z_value(level)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.clip(below / valid, 0.5 / samples, 1.0 - 0.5 / samples)
        z0 = ndtri(share)
        quantile_low = ndtr(2.0 * z0 - z)
        quantile_high = ndtr(2.0 * z0 + z)
    usable = (valid > 1) & ~np.isnan(estimate)
    columns = np.flatnonzero(usable)
    if columns.size:
        count = valid[columns]
        low[columns] = _order_statistic(ordered, columns, quantile_low[columns] * (count - 1))
        high[columns] = _order_statistic(ordered, columns, quantile_high[columns] * (count - 1))
    return low, high


def _order_statistic(ordered: np.ndarray, columns: np.ndarray, position: np.ndarray) -> np.ndarray:
    """Linear interpolation between order statistics (numpy's default quantile rule)."""
    below = np.floor(position).astype(np.int64)
    above = np.minimum(below + 1, ordered.shape[0] - 1)
    fraction = position - below
    lower_value = ordered[below, columns]
    upper_value = ordered[above, columns]
    return lower_value + fraction * (upper_value - lower_value)


def fold_difference(low: float, high: float) -> tuple[float, float]:
    """Interval of ``|d|`` from an interval of ``d``."""
    if low >= 0:
        return low, high
    if high <= 0:
        return -high, -low
    return 0.0, max(-low, high)


def is_finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)
