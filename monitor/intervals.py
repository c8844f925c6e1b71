"""Confidence intervals from counts alone.

* A group rate ``k / n`` gets the Wilson score interval.
* A ratio of two groups' rates (to the reference group) gets the Katz log interval.
* A disparity (a function of several groups' rates) gets a simulation interval (a parametric
  bootstrap from the counts): each group's rate is drawn as ``p̃ + se · Z`` with the
  Agresti–Caffo adjusted estimate ``p̃ = (k + 1) / (n + 2)`` and
  ``se = sqrt(p̃ (1 − p̃) / (n + 2))``; how the bounds follow from the draws is in
  :mod:`monitor.disparity_intervals`. ``Z`` is a fixed standard-normal matrix generated from the
  configured seed, so the same counts always give the same interval (a window re-evaluated
  after a late label is stable) and no random state is kept.
"""

from __future__ import annotations

import math
from functools import lru_cache
from statistics import NormalDist

import numpy as np

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
    low[k <= 0] = 0.0  # exact at the edges (rounding would leave 1e-17)
    high[k >= n] = 1.0
    undefined = n <= 0
    low[undefined] = np.nan
    high[undefined] = np.nan
    return low, high


def ratio_interval(
    successes: np.ndarray,
    trials: np.ndarray,
    reference_successes: float | np.ndarray,
    reference_trials: float | np.ndarray,
    level: float = 0.95,
) -> tuple[np.ndarray, np.ndarray]:
    """Katz log interval of the ratio of two independent rates ``(k / n) / (k_r / n_r)``.

    ``exp(log(ratio) ± z · sqrt(1/k − 1/n + 1/k_r − 1/n_r))``; when a success count is 0 both
    rates use ``k + 0.5`` successes out of ``n + 1``. NaN when a denominator or the reference
    rate is 0.
    """
    z = z_value(level)
    k = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    k_ref = np.broadcast_to(np.asarray(reference_successes, dtype=np.float64), k.shape)
    n_ref = np.broadcast_to(np.asarray(reference_trials, dtype=np.float64), k.shape)
    undefined = (n <= 0) | (n_ref <= 0) | (k_ref <= 0)
    corrected = (k == 0) | (k_ref == 0)
    k = np.where(corrected, k + 0.5, k)
    n = np.where(corrected, n + 1.0, n)
    k_ref = np.where(corrected, k_ref + 0.5, k_ref)
    n_ref = np.where(corrected, n_ref + 1.0, n_ref)
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = np.log((k / n) / (k_ref / n_ref))
        spread = z * np.sqrt(np.maximum(1.0 / k - 1.0 / n + 1.0 / k_ref - 1.0 / n_ref, 0.0))
        low, high = np.exp(centre - spread), np.exp(centre + spread)
    low[undefined] = np.nan
    high[undefined] = np.nan
    return low, high


@lru_cache(maxsize=256)
def _normal_block(seed: int, samples: int, block: int) -> np.ndarray:
    rng = np.random.default_rng([seed, samples, block])
    matrix = rng.standard_normal((_BLOCK, samples), dtype=np.float32)
    matrix.setflags(write=False)
    return matrix


@lru_cache(maxsize=64)
def normal_matrix(seed: int, samples: int, rows: int) -> np.ndarray:
    """A fixed ``rows × samples`` standard-normal float32 matrix: the first ``rows`` rows of an
    endless matrix determined by ``seed`` and ``samples`` (a row's draws never depend on how many
    rows were asked for). Read-only and cached."""
    if rows <= 0:
        return np.empty((0, samples), dtype=np.float32)
    blocks = [_normal_block(seed, samples, block) for block in range((rows - 1) // _BLOCK + 1)]
    joined = blocks[0] if len(blocks) == 1 else np.concatenate(blocks, axis=0)
    matrix = np.ascontiguousarray(joined[:rows])
    matrix.setflags(write=False)
    return matrix


@lru_cache(maxsize=64)
def normal_row_maxima(seed: int, samples: int, rows: int) -> np.ndarray:
    """The largest ``|Z|`` of each row of :func:`normal_matrix` (read-only, cached)."""
    maxima = np.abs(normal_matrix(seed, samples, rows)).max(axis=1).astype(np.float64)
    maxima.setflags(write=False)
    return maxima


def adjusted_rate(successes: np.ndarray, trials: np.ndarray) -> np.ndarray:
    """The Agresti–Caffo adjusted rate ``(k + 1) / (n + 2)`` that the draws are centred on."""
    return (np.asarray(successes, dtype=np.float64) + 1.0) / (
        np.asarray(trials, dtype=np.float64) + 2.0
    )


def simulate_around(
    centre: np.ndarray, trials: np.ndarray, normals: np.ndarray, sign: float = 1.0
) -> np.ndarray:
    """Draws of each group's rate (``groups × samples``, float32) clipped to [0, 1]:
    ``p̃ + sign · sqrt(p̃ (1 − p̃) / (n + 2)) · Z`` around the adjusted rates ``p̃``."""
    n = np.asarray(trials, dtype=np.float64)
    spread = sign * np.sqrt(centre * (1.0 - centre) / (n + 2.0))
    draws = normals * spread.astype(np.float32)[:, None]
    draws += centre.astype(np.float32)[:, None]
    np.clip(draws, 0.0, 1.0, out=draws)
    return draws


def simulated_noise(
    centre: np.ndarray,
    trials: np.ndarray,
    normals: np.ndarray,
    sign: float = 1.0,
    row_maxima: np.ndarray | None = None,
) -> np.ndarray:
    """The simulated errors ``e* = p* − p̃`` of :func:`simulate_around`'s draws (float32), computed
    without materialising the draws: ``clip(sign · se · Z, −p̃, 1 − p̃)``. ``row_maxima`` (each
    row's largest ``|Z|``, see :func:`normal_row_maxima`) saves a pass over the draws."""
    n = np.asarray(trials, dtype=np.float64)
    spread = np.sqrt(centre * (1.0 - centre) / (n + 2.0))
    noise = np.multiply(normals, (sign * spread).astype(np.float32)[:, None])
    # the draw p̃ + e stays in [0, 1]; rows whose largest draw cannot leave it need no clipping
    if row_maxima is None:
        row_maxima = np.abs(normals).max(axis=1)
    largest = row_maxima * spread
    clip = np.flatnonzero((largest > centre) | (largest > 1.0 - centre))
    if clip.size:
        rows = noise[clip]
        np.maximum(rows, (-centre[clip]).astype(np.float32)[:, None], out=rows)
        np.minimum(rows, (1.0 - centre[clip]).astype(np.float32)[:, None], out=rows)
        noise[clip] = rows
    return noise


def simulate_rates(successes: np.ndarray, trials: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """Draws of each group's rate around ``p̃ = (k + 1) / (n + 2)`` (see :func:`simulate_around`).
    Rows of undefined rates (``n`` = 0) are meaningless and must be ignored by the caller."""
    return simulate_around(adjusted_rate(successes, trials), trials, normals)


def quantile_positions(samples: int, level: float) -> tuple[int, int]:
    """Order-statistic positions of the lower and upper bound among ``samples`` sorted draws.

    The lower bound rounds down and the upper bound up (never narrower than the exact quantile)
    and no interpolation is done, so infinite draws are handled.
    """
    tail = (1.0 - level) / 2.0
    low = math.floor(tail * (samples - 1))
    high = math.ceil((1.0 - tail) * (samples - 1))
    return max(low, 0), min(high, samples - 1)


def row_quantiles(draws: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper percentile bounds of each row of ``draws`` (statistics × samples)."""
    low, high = quantile_positions(draws.shape[1], level)
    ordered = np.sort(draws, axis=1)  # several times faster than np.partition with two kth
    return ordered[:, low].astype(np.float64), ordered[:, high].astype(np.float64)
