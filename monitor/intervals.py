"""Confidence intervals from counts alone.

* A group rate ``k / n`` gets the Wilson score interval.
* A ratio of two groups' rates (to the reference group) gets the MOVER-J interval: the
  Donner–Zou recovery of a ratio's limits from the two rates' Jeffreys limits (Laud 2017), with
  the Jeffreys quantiles from Paulson's closed form (:func:`jeffreys_quantile`).
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
    """MOVER-J interval of the ratio of two independent rates ``p = k / n`` over
    ``r = k_r / n_r``.

    With ``(l, u)`` and ``(l_r, u_r)`` the two rates' Jeffreys limits (``l = 0`` when ``k = 0``,
    ``u = 1`` when ``k = n``), the bounds are Donner and Zou's roots
    ``(p r ∓ sqrt((p r)² − l u_r (2p − l)(2r − u_r))) / (u_r (2r − u_r))`` for the lower one and
    ``(p r + sqrt((p r)² − u l_r (2p − u)(2r − l_r))) / (l_r (2r − l_r))`` for the upper one,
    widened to contain ``p / r``. NaN when a denominator or the reference rate is 0.
    """
    z = z_value(level)
    k = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    k_ref = np.broadcast_to(np.asarray(reference_successes, dtype=np.float64), k.shape)
    n_ref = np.broadcast_to(np.asarray(reference_trials, dtype=np.float64), k.shape)
    undefined = (n <= 0) | (n_ref <= 0) | (k_ref <= 0)
    n, n_ref = np.where(undefined, 1.0, n), np.where(undefined, 1.0, n_ref)
    k, k_ref = np.where(undefined, 0.0, k), np.where(undefined, 1.0, k_ref)
    rate, reference = k / n, k_ref / n_ref
    low, high = jeffreys_quantile(k, n, -z), jeffreys_quantile(k, n, z)
    ref_low, ref_high = jeffreys_quantile(k_ref, n_ref, -z), jeffreys_quantile(k_ref, n_ref, z)
    product = rate * reference
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = _mover_root(product, low * (2 * rate - low), ref_high * (2 * reference - ref_high))
        upper = (
            product
            + np.sqrt(
                np.maximum(
                    product**2 - high * (2 * rate - high) * ref_low * (2 * reference - ref_low),
                    0.0,
                )
            )
        ) / (ref_low * (2 * reference - ref_low))
        ratio = rate / reference
    lower = np.fmin(np.maximum(lower, 0.0), ratio)
    upper = np.fmax(np.where(ref_low > 0, upper, np.inf), ratio)
    lower[undefined], upper[undefined] = np.nan, np.nan
    return lower, upper


def _mover_root(product: np.ndarray, numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """The lower MOVER root ``(P − sqrt(P² − N D)) / D``; its limit ``N / 2P`` where ``D`` is 0."""
    root = (product - np.sqrt(np.maximum(product**2 - numerator * denominator, 0.0))) / denominator
    flat = np.abs(denominator) < 1e-12
    if flat.any():
        root[flat] = np.where(product[flat] > 0, numerator[flat] / (2 * product[flat]), 0.0)
    return root


def jeffreys_quantile(
    successes: np.ndarray, trials: np.ndarray, z: float | np.ndarray
) -> np.ndarray:
    """Approximate quantile of ``Beta(k + ½, n − k + ½)`` at probability ``Φ(z)`` (float64,
    broadcast over the arguments); NaN where ``n`` is 0.

    Paulson's cube-root approximation of the F distribution, since
    ``Beta(a, b) = a F / (a F + b)`` with ``F ~ F(2a, 2b)``: with ``c₁ = 1/9a``,
    ``c₂ = 1/9b``, ``A = 1 − c₂``, ``B = 1 − c₁``, ``F^⅓ = (A B + z sqrt(A² c₁ + B² c₂ −
    z² c₁ c₂)) / (A² − z² c₂)``. It is computed on the side with fewer events (``k ≤ n/2``;
    ``1 − quantile(n − k, −z)`` otherwise). In probit units it is within 0.015 of ``z`` for
    ``|z| ≤ 1.96`` (0.1 for ``|z| ≤ 3``) from 4 events on; with 1–3 events its tail towards 0
    is lower than Jeffreys' (by 0.1 at ``z = −1.96`` for one event): wider, the safe side.

    Boundary adjustment: with no events (``k = 0``) the quantile is 0 for ``z < 0`` (and with
    no failures 1 for ``z > 0``): the distribution keeps Jeffreys' upper half and puts its
    lower half at 0, the simulation counterpart of Brown, Cai and DasGupta's Jeffreys lower
    limit of 0 at ``k = 0``. A true rate of 0 gives ``k = 0`` every time, and drawing rates
    above it would shift a difference's bounds towards the other groups.
    """
    k = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    z_array = np.asarray(z, dtype=np.float64)
    k, n, z_array = np.broadcast_arrays(k, n, z_array)
    flip = k > n / 2.0
    near = np.where(flip, n - k, k)
    signed = np.where(flip, -z_array, z_array)
    with np.errstate(divide="ignore", invalid="ignore"):
        a, b = near + 0.5, n - near + 0.5
        c1, c2 = 1.0 / (9.0 * a), 1.0 / (9.0 * b)
        big_a, big_b = 1.0 - c2, 1.0 - c1
        root = np.sqrt(np.maximum(big_a**2 * c1 + big_b**2 * c2 - signed**2 * c1 * c2, 0.0))
        denominator = big_a**2 - signed**2 * c2
        cube_root = (big_a * big_b + signed * root) / denominator
        # outside the approximation's range the quantile is at the edge of [0, 1]
        outside = (denominator <= 0) | ((big_a * cube_root - big_b) * signed < 0)
        cube_root = np.where(outside, np.where(signed > 0, np.inf, 0.0), cube_root)
        odds = np.maximum(cube_root, 0.0) ** 3 * (a / b)
        below = 1.0 / (1.0 + odds)  # 1 − quantile on the near side
    below = np.where((near == 0) & (signed < 0), 1.0, below)  # the boundary adjustment
    quantile = np.where(flip, below, 1.0 - below)
    return np.where(n > 0, quantile, np.nan)


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
