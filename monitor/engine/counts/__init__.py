"""Per-group counts: the only state of the metric engine.

A group's counts are ``n`` (predictions seen), ``predicted_positive`` and, for the rows whose label
is known, the confusion counts ``tp``, ``fp``, ``tn``, ``fn``; optionally a histogram of the
scores of labeled rows, for calibration. Counts add and subtract, so windows retire old data by
subtraction and consumer instances merge by addition.

- :mod:`~monitor.engine.counts.layout`: the array form (one int64 row per group) and its layout;
- :mod:`~monitor.engine.counts.group`: :class:`GroupCounts`, one group's counts;
- :mod:`~monitor.engine.counts.batch`: :func:`count_batch`, a batch of rows counted at once;
- :mod:`~monitor.engine.counts.table`: :class:`CountTable`, counts rows by key, mergeable.
"""

from monitor.engine.counts.batch import count_batch
from monitor.engine.counts.group import GroupCounts, Histogram, sum_counts
from monitor.engine.counts.layout import (
    BASE_WIDTH,
    CELLS_PER_BIN,
    COUNT_FIELDS,
    DEFAULT_SCORE_BINS,
    LEGACY_CELLS_PER_BIN,
    NEGATIVES_BLOCK,
    OFFSETS_BLOCK,
    POSITIVES_BLOCK,
    PREDICTIONS_BLOCK,
    SCORE_SCALE,
    UNLABELED,
    bin_centres,
    bin_edges,
    bins_of_width,
    block,
    row_width,
    score_bin,
    widen,
)
from monitor.engine.counts.table import CountTable

__all__ = [
    "BASE_WIDTH",
    "CELLS_PER_BIN",
    "COUNT_FIELDS",
    "DEFAULT_SCORE_BINS",
    "LEGACY_CELLS_PER_BIN",
    "NEGATIVES_BLOCK",
    "OFFSETS_BLOCK",
    "POSITIVES_BLOCK",
    "PREDICTIONS_BLOCK",
    "SCORE_SCALE",
    "UNLABELED",
    "CountTable",
    "GroupCounts",
    "Histogram",
    "bin_centres",
    "bin_edges",
    "bins_of_width",
    "block",
    "count_batch",
    "row_width",
    "score_bin",
    "sum_counts",
    "widen",
]
