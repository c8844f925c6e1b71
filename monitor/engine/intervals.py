"""Confidence intervals from counts alone.

* A group rate ``k / n`` gets the Wilson score interval.
* A ratio of two groups' rates (to the reference group) gets the MOVER-J interval: the
  Donner–Zou recovery of a ratio's limits from the two rates' Jeffreys limits (Laud 2017).
* A disparity (a function of several groups' rates) gets a simulation interval: each group's
  rate is drawn from its Jeffreys confidence distribution ``Beta(k + ½, n − k + ½)`` (the
  posterior under the Jeffreys prior, whose equal-tailed quantiles are the Jeffreys interval of
  Brown, Cai and DasGupta 2001, accurate in each tail separately, Cai 2005); how the bounds
  follow from the draws is in :mod:`monitor.engine.disparity_intervals`.

The Beta quantiles come from a standard normal ``Z`` through closed forms, so a draw costs a few
arithmetic operations (see :func:`jeffreys_quantile`). ``Z`` comes from a fixed pool (a
standard-normal matrix generated from the configured seed); each window takes its own rows of
the pool, in an order and with signs drawn from a generator seeded by a digest of the window's
counts (:func:`window_generator`). So the same counts always give the same interval (a window
re-evaluated after a late label is stable, no random state is kept), while different windows
use different draws and their simulation errors do not repeat.
"""

from __future__ import annotations

import hashlib
import math
from functools import lru_cache
from statistics import NormalDist

import numpy as np

_BLOCK = 64  # columns of the normal matrix generated per seed block
#: Below this many successes (or failures) a draw uses Paulson's cube-root form; from it on the
#: Cornish–Fisher expansion (cheaper, and as accurate there: both within 0.03 of ``Z``)
_SKEWED_BELOW = 20
#: Paulson's form needs ``Z² < 9 b`` roughly; rows with fewer failures than this (groups of a
#: handful of rows) are guarded against ``Z`` outside that range
_GUARDED_BELOW = 5.0
_BLOCK_ROWS = 128  # groups transformed at a time (128 × 1,000 draws: 0.5 MB, within L2 caches)


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
    # one call for both limits of both rates: (limit, rate, group)
    limits = jeffreys_quantile(
        np.stack([k, k_ref]), np.stack([n, n_ref]), np.array([-z, z])[:, None, None]
    )
    (low, ref_low), (high, ref_high) = limits[0], limits[1]
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


def jeffreys_draws(
    successes: np.ndarray,
    trials: np.ndarray,
    normals: np.ndarray,
    rows: np.ndarray | None = None,
    signs: np.ndarray | None = None,
    errors_from: np.ndarray | None = None,
) -> np.ndarray:
    """Draws ``p*`` of each group's rate from ``Beta(k + ½, n − k + ½)`` (``groups × samples``,
    float32): group ``i`` turns row ``rows[i]`` of ``normals`` (default: row ``i``), times its
    sign (``signs``: ±1 per group, default +1), into draws; every ``n`` must be positive. With
    ``errors_from`` (one value per group, e.g. the observed rates) the errors
    ``errors_from − p*`` instead.

    Groups with fewer than :data:`_SKEWED_BELOW` successes or failures use
    :func:`jeffreys_quantile`'s formula (with its boundary adjustment); the others the
    Cornish–Fisher expansion ``μ + σ (z + γ (z² − 1) / 6)`` with the Beta's mean, standard
    deviation and skewness. Groups are processed in blocks that stay in the CPU cache: the
    draws of a window are several megabytes, and every pass over them from memory costs.
    """
    k = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    row_of = np.arange(k.size) if rows is None else np.asarray(rows)
    sign = np.ones(k.shape) if signs is None else np.asarray(signs, dtype=np.float64)
    a, b = k + 0.5, n - k + 0.5
    total = a + b
    mean = a / total
    deviation = np.sqrt(a * b / (total * total * (total + 1.0)))
    skewness = 2.0 * (b - a) * np.sqrt(total + 1.0) / ((total + 2.0) * np.sqrt(a * b))
    curve = deviation * skewness / 6.0
    # p* = μ − c + z (s σ + c z) with c = σ γ / 6 (s² = 1); errors: (x − μ + c) − z (s σ + c z)
    constant = mean - curve if errors_from is None else np.asarray(errors_from) - mean + curve
    quadratic = curve.astype(np.float32)[:, None]
    linear = (sign * deviation).astype(np.float32)[:, None]
    constant32 = constant.astype(np.float32)[:, None]
    draws = np.empty((k.size, normals.shape[1]), dtype=np.float32)
    for start in range(0, k.size, _BLOCK_ROWS):
        stop = min(start + _BLOCK_ROWS, k.size)
        z = normals[row_of[start:stop]]
        block = draws[start:stop]
        np.multiply(z, quadratic[start:stop], out=block)
        block += linear[start:stop]
        block *= z
        if errors_from is None:
            block += constant32[start:stop]
        else:
            np.subtract(constant32[start:stop], block, out=block)
    skewed = np.flatnonzero(np.minimum(k, n - k) < _SKEWED_BELOW)
    if skewed.size:  # few groups, usually: computed again with the exact formula
        exact = _paulson_draws(k[skewed], n[skewed], normals[row_of[skewed]], sign[skewed])
        if errors_from is not None:
            np.subtract(np.asarray(errors_from, np.float32)[skewed][:, None], exact, out=exact)
        draws[skewed] = exact
    return draws


def _paulson_draws(
    k: np.ndarray, n: np.ndarray, normals: np.ndarray, sign: np.ndarray
) -> np.ndarray:
    """:func:`jeffreys_quantile` of every element of ``sign · normals``, in float32."""
    flip = k > n / 2.0
    near = np.where(flip, n - k, k)
    a, b = near + 0.5, n - near + 0.5
    c1, c2 = 1.0 / (9.0 * a), 1.0 / (9.0 * b)
    big_a, big_b = 1.0 - c2, 1.0 - c1

    def column(values: np.ndarray) -> np.ndarray:
        return values.astype(np.float32)[:, None]

    z = np.multiply(normals, column(np.where(flip, -sign, sign)))
    square = z * z
    root = np.multiply(square, column(-c1 * c2))
    root += column(big_a**2 * c1 + big_b**2 * c2)
    np.maximum(root, 0.0, out=root)
    np.sqrt(root, out=root)
    root *= z
    root += column(big_a * big_b)
    denominator = np.multiply(square, column(-c2))
    denominator += column(big_a**2)
    guarded = np.flatnonzero(b < _GUARDED_BELOW)
    if guarded.size:  # outside the approximation's range the draw is at the edge of [0, 1]
        outside = (denominator[guarded] <= 0) | (
            (column(big_a[guarded]) * root[guarded] - column(big_b[guarded]) * denominator[guarded])
            * z[guarded]
            < 0
        )
        edge = np.where(z[guarded] > 0, np.float32(np.inf), np.float32(0.0))
        root[guarded] = np.where(outside, edge, root[guarded])
        denominator[guarded] = np.where(outside, np.float32(1.0), denominator[guarded])
    root /= denominator
    np.maximum(root, 0.0, out=root)
    odds = root * root
    odds *= root
    odds *= column(a / b)
    odds += 1.0
    below = np.divide(np.float32(1.0), odds, out=odds)  # 1 − draw on the near side
    boundary = np.flatnonzero(near == 0)
    if boundary.size:  # no events: the lower half of the draws is at 0 exactly
        below[boundary] = np.where(z[boundary] < 0, np.float32(1.0), below[boundary])
    draws = np.where(flip[:, None], below, np.float32(1.0) - below)
    return draws.astype(np.float32, copy=False)


def window_generator(*arrays: np.ndarray) -> np.random.Generator:
    """A generator seeded by a digest of ``arrays`` (their bytes and shapes): the same window
    counts give the same stream, and different windows independent ones."""
    digest = hashlib.blake2b(digest_size=16)
    for array in arrays:
        contiguous = np.ascontiguousarray(array)
        digest.update(str(contiguous.shape).encode())
        digest.update(contiguous.tobytes())
    return np.random.default_rng(int.from_bytes(digest.digest(), "little"))


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
    """The Agresti–Caffo adjusted rate ``(k + 1) / (n + 2)`` (positive even when ``k = 0``): the
    centre of the log-scale noise of ratios."""
    return (np.asarray(successes, dtype=np.float64) + 1.0) / (
        np.asarray(trials, dtype=np.float64) + 2.0
    )


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
