"""Measures of how much a feature says about a sensitive attribute (for proxy detection).

Every measure works on integer codes: ``levels`` (the feature, one code per row, ``0..L-1``)
and ``groups`` (the attribute, ``0..K-1``). Undefined is ``None``, never 0: a constant feature
or an attribute with a single group carries no measurable association.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Folds of the cross-validated one-feature classifier.
FOLDS = 5
#: Seed of the fold assignment: the same file gives the same folds, run after run.
FOLD_SEED = 20240601


def contingency(levels: np.ndarray, groups: np.ndarray, n_levels: int, n_groups: int) -> np.ndarray:
    """The ``n_levels × n_groups`` table of row counts."""
    flat = np.bincount(levels * n_groups + groups, minlength=n_levels * n_groups)
    return flat.reshape(n_levels, n_groups).astype(np.float64)


def _non_empty(table: np.ndarray) -> np.ndarray:
    return table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]


def cramers_v(table: np.ndarray, corrected: bool = True) -> float | None:
    """Cramér's V of a contingency table, by default bias-corrected (Bergsma 2013):
    ``φ̃² = max(0, χ²/n − (r−1)(k−1)/(n−1))``, ``r̃ = r − (r−1)²/(n−1)`` (likewise ``k̃``),
    ``Ṽ = √(φ̃² / min(r̃−1, k̃−1))``. Empty rows and columns are dropped first; ``None`` when
    fewer than two remain on either side (the table says nothing about association)."""
    observed = _non_empty(table)
    rows, columns = observed.shape
    n = float(observed.sum())
    if rows < 2 or columns < 2 or n < 2:
        return None
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / n
    phi2 = float(((observed - expected) ** 2 / expected).sum()) / n
    if not corrected:
        return math.sqrt(phi2 / min(rows - 1, columns - 1))
    phi2 = max(0.0, phi2 - (rows - 1) * (columns - 1) / (n - 1))
    rows_c = rows - (rows - 1) ** 2 / (n - 1)
    columns_c = columns - (columns - 1) ** 2 / (n - 1)
    denominator = min(rows_c - 1, columns_c - 1)
    if denominator <= 0:
        return None
    return min(1.0, math.sqrt(phi2 / denominator))


def correlation_ratio(values: np.ndarray, groups: np.ndarray, n_groups: int) -> float | None:
    """The correlation ratio η of a numeric feature across the attribute's groups:
    ``η² = Σ_g n_g (ȳ_g − ȳ)² / Σ_i (y_i − ȳ)²`` (the share of the feature's variance that the
    group means explain). ``values`` must hold no NaN. ``None`` when the feature is constant or
    fewer than two groups have rows."""
    counts = np.bincount(groups, minlength=n_groups).astype(np.float64)
    if np.count_nonzero(counts) < 2:
        return None
    mean = float(values.mean())
    total = float(((values - mean) ** 2).sum())
    if total <= 0:
        return None
    sums = np.bincount(groups, weights=values, minlength=n_groups)
    present = counts > 0
    means = sums[present] / counts[present]
    between = float((counts[present] * (means - mean) ** 2).sum())
    return min(1.0, math.sqrt(between / total))


def _entropy(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def uncertainty_coefficient(table: np.ndarray) -> float | None:
    """Mutual information normalised by the attribute's entropy, ``I(X; S) / H(S)`` (Theil's
    uncertainty coefficient U(S|X)): the share of the uncertainty about the attribute that
    knowing the feature removes, 0 (independent) to 1 (the feature determines the attribute).
    Plug-in estimate. ``None`` when the attribute has one group or the feature one level."""
    observed = _non_empty(table)
    if observed.shape[0] < 2 or observed.shape[1] < 2:
        return None
    h_groups = _entropy(observed.sum(axis=0))
    h_levels = _entropy(observed.sum(axis=1))
    h_joint = _entropy(observed.ravel())
    return max(0.0, min(1.0, (h_groups + h_levels - h_joint) / h_groups))


@dataclass(frozen=True)
class Prediction:
    """How well the feature alone predicts the attribute, on rows it was not fitted on."""

    balanced_accuracy: float  # mean over the attribute's groups of the share predicted right
    chance: float  # 1 / number of groups: what a feature with no information scores
    skill: float  # (balanced_accuracy − chance) / (1 − chance): 0 chance, 1 perfect


def fold_of(groups: np.ndarray, n_groups: int, folds: int = FOLDS) -> np.ndarray:
    """A deterministic stratified fold per row: within each group, rows in a fixed shuffled
    order are dealt to the folds in turn, so every fold holds every group's share."""
    order = np.random.default_rng(FOLD_SEED).permutation(len(groups))
    shuffled = groups[order]
    rank = np.empty(len(groups), dtype=np.int64)
    by_group = np.argsort(shuffled, kind="stable")
    starts = np.searchsorted(shuffled[by_group], np.arange(n_groups))
    positions = np.arange(len(groups)) - starts[shuffled[by_group]]
    rank[order[by_group]] = positions
    result: np.ndarray = rank % folds
    return result


def held_out_prediction(
    levels: np.ndarray,
    groups: np.ndarray,
    n_levels: int,
    n_groups: int,
    fold: np.ndarray | None = None,
) -> Prediction | None:
    """Cross-validated balanced accuracy of the one-feature classifier that predicts, for each
    feature level, the group ``g`` maximising ``P(level | g)`` estimated on the other folds (the
    Bayes rule for balanced accuracy; predicting the most frequent group per level would
    maximise plain accuracy and, with unequal groups, predict the largest group almost
    everywhere). Ties and levels unseen in training go to the largest group. ``fold`` is
    :func:`fold_of` ``groups`` (passed in when one attribute meets many features). ``None``
    when fewer than two groups or levels have rows."""
    sizes = np.bincount(groups, minlength=n_groups)
    present = np.flatnonzero(sizes)
    if len(present) < 2 or np.count_nonzero(np.bincount(levels, minlength=n_levels)) < 2:
        return None
    if fold is None:
        fold = fold_of(groups, n_groups)
    folds = int(fold.max()) + 1
    cells = (fold * n_levels + levels) * n_groups + groups
    per_fold = np.bincount(cells, minlength=folds * n_levels * n_groups).reshape(
        folds, n_levels, n_groups
    )
    training = per_fold.sum(axis=0, keepdims=True) - per_fold  # fold f's model: other folds
    group_sizes = training.sum(axis=1, keepdims=True).astype(np.float64)
    likelihood = np.divide(
        training, group_sizes, out=np.zeros(training.shape), where=group_sizes > 0
    )
    by_size = np.argsort(-sizes, kind="stable")  # ties go to the larger group
    rule = by_size[np.argmax(likelihood[:, :, by_size], axis=2)]  # folds × levels
    predicted = rule[fold, levels]
    correct = np.bincount(groups[predicted == groups], minlength=n_groups)
    recall = correct[present] / sizes[present]
    balanced = float(recall.mean())
    chance = 1.0 / len(present)
    return Prediction(balanced, chance, (balanced - chance) / (1.0 - chance))
