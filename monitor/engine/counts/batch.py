"""Counting a batch of rows into a counts matrix at once (vectorised with ``np.bincount``)."""

from __future__ import annotations

import numpy as np

from monitor.engine.counts.layout import (
    BASE_WIDTH,
    DEFAULT_SCORE_BINS,
    UNLABELED,
    row_width,
    score_histogram,
)


def _as_int_array(values: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype == np.bool_:
        return array.view(np.uint8)
    if not np.issubdtype(array.dtype, np.integer):
        if np.issubdtype(array.dtype, np.floating) and np.all(np.mod(array, 1) == 0):
            return array.astype(np.int64)
        raise ValueError(f"{name} must hold integers (0/1), got dtype {array.dtype}")
    return array


def count_batch(
    group_index: np.ndarray,
    n_groups: int,
    prediction: np.ndarray,
    label: np.ndarray | None,
    score: np.ndarray | None = None,
    count_n: np.ndarray | None = None,
    score_bins: int = DEFAULT_SCORE_BINS,
) -> np.ndarray:
    """Count one batch of rows into an ``n_groups × row_width`` int64 matrix.

    ``group_index`` gives each row's group in ``[0, n_groups)``; ``prediction`` is 0/1;
    ``label`` is 0/1 or ``-1`` (unlabeled), ``None`` meaning no row is labeled. ``score`` (floats in
    [0, 1], NaN for none) adds a ``score_bins``-bin histogram per label for labeled rows, each
    bin's score-offset sum and the histogram of scored predictions (see the module's docstring);
    without scores the matrix has the six base columns only. Rows whose ``count_n`` is False add
    only their labeled counts (confusion cells and labeled histogram), not ``n``,
    ``predicted_positive`` or the predictions' histogram: that is how a label arriving after its
    prediction updates the window that already counted the prediction.
    """
    groups = _as_int_array(group_index, "group_index")
    rows = groups.shape[0]
    predicted = _as_int_array(prediction, "prediction")
    if predicted.shape[0] != rows:
        raise ValueError("prediction and group_index differ in length")
    if rows and (groups.min() < 0 or groups.max() >= n_groups):
        raise ValueError(f"group_index must lie in [0, {n_groups})")
    if rows and (predicted.min() < 0 or predicted.max() > 1):
        raise ValueError("prediction must be 0 or 1")
    # cell = prediction + 2 × (label + 1): 0/1 unlabeled, 2/3 label 0, 4/5 label 1;
    # plus 6 for rows that only contribute labels (count_n False).
    cells = 12
    code = groups.astype(np.int64) * cells
    code += predicted
    labels: np.ndarray | None = None
    if label is not None:
        labels = _as_int_array(label, "label")
        if labels.shape[0] != rows:
            raise ValueError("label and group_index differ in length")
        if rows and (labels.min() < UNLABELED or labels.max() > 1):
            raise ValueError("label must be 0, 1 or -1 (unlabeled)")
        code += 2 * (labels.astype(np.int64) + 1)
    only_labels: np.ndarray | None = None
    if count_n is not None:
        only_labels = ~np.asarray(count_n, dtype=bool)
        if only_labels.shape[0] != rows:
            raise ValueError("count_n and group_index differ in length")
        code += 6 * only_labels
    table = np.bincount(code, minlength=n_groups * cells).reshape(n_groups, cells)
    with_n = table[:, :6]
    both = with_n + table[:, 6:]
    bins = score_bins if score is not None else 0
    out = np.empty((n_groups, row_width(bins)), dtype=np.int64)
    out[:, 0] = with_n.sum(axis=1)
    out[:, 1] = with_n[:, 1] + with_n[:, 3] + with_n[:, 5]
    out[:, 2] = both[:, 5]  # tp: predicted 1, label 1
    out[:, 3] = both[:, 3]  # fp: predicted 1, label 0
    out[:, 4] = both[:, 2]  # tn: predicted 0, label 0
    out[:, 5] = both[:, 4]  # fn: predicted 0, label 1
    if score is not None:
        if score_bins < 1:
            raise ValueError("score_bins must be at least 1")
        out[:, BASE_WIDTH:] = score_histogram(
            groups, n_groups, labels, score, score_bins, only_labels
        )
    return out
