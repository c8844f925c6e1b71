"""Per-group counts: the only state of the metric engine.

A group's counts are ``n`` (predictions seen), ``predicted_positive`` and, for the rows whose label
is known, the confusion counts ``tp``, ``fp``, ``tn``, ``fn``; optionally, for calibration and for
threshold advice, fixed-bin histograms of the scores: of labeled rows, one per label, with per bin
the sum of the scores' offsets from the bin's centre, and of every scored prediction (counted with
``n``, labeled or not). Counts add and subtract, so windows retire old data by subtraction and
consumer instances merge by addition.

The array form is one int64 row per group; its layout, the score bins and the fixed-point score
sums are :mod:`monitor.engine.score_bins`'.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from monitor.engine.score_bins import (
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
    score_histogram,
    widen,
)

Histogram = tuple[tuple[int, ...], tuple[int, ...]]

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


@dataclass(frozen=True)
class GroupCounts:
    """Counts of one group; ``score_histogram[label][bin]`` counts labeled rows by score bin,
    ``score_offsets[bin]`` sums their offsets from the bin's centre in units of
    1 / :data:`SCORE_SCALE` (all 0 when not given: scores at the centres),
    ``score_predictions[bin]`` counts every scored prediction by score bin, labeled or not (all 0
    when not given)."""

    n: int = 0
    predicted_positive: int = 0
    tp: int = 0
    fp: int = 0
    tn: int = 0
    fn: int = 0
    score_histogram: Histogram | None = None
    score_offsets: tuple[int, ...] | None = None
    score_predictions: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.score_histogram is None:
            if self.score_offsets is not None or self.score_predictions is not None:
                raise ValueError("score_offsets and score_predictions need a score_histogram")
            return
        bins = len(self.score_histogram[0])
        for name in ("score_offsets", "score_predictions"):
            value = getattr(self, name)
            if value is None:
                object.__setattr__(self, name, (0,) * bins)
            elif len(value) != bins:
                raise ValueError(f"{name} need one value per histogram bin")

    @classmethod
    def zero(cls, score_bins: int = 0) -> GroupCounts:
        """Counts of an empty group, with an all-zero histogram when ``score_bins`` > 0."""
        if score_bins <= 0:
            return cls()
        return cls(score_histogram=((0,) * score_bins, (0,) * score_bins))

    @property
    def n_labeled(self) -> int:
        return self.tp + self.fp + self.tn + self.fn

    @property
    def score_bins(self) -> int:
        return 0 if self.score_histogram is None else len(self.score_histogram[0])

    def to_row(self, score_bins: int | None = None) -> np.ndarray:
        """The int64 array form; ``score_bins`` widens (zeros) or must match the histogram."""
        bins = self.score_bins if score_bins is None else score_bins
        row = np.zeros(row_width(bins), dtype=np.int64)
        row[:BASE_WIDTH] = (self.n, self.predicted_positive, self.tp, self.fp, self.tn, self.fn)
        offsets = self.score_offsets or ()
        predictions = self.score_predictions or ()
        if self.score_histogram is not None and (
            any(map(any, self.score_histogram)) or any(offsets) or any(predictions)
        ):
            if self.score_bins != bins:
                raise ValueError(f"histogram has {self.score_bins} bins, row asked for {bins}")
            row[block(bins, NEGATIVES_BLOCK)] = self.score_histogram[0]
            row[block(bins, POSITIVES_BLOCK)] = self.score_histogram[1]
            row[block(bins, OFFSETS_BLOCK)] = offsets
            row[block(bins, PREDICTIONS_BLOCK)] = predictions
        return row

    @classmethod
    def from_row(cls, row: np.ndarray | Sequence[int]) -> GroupCounts:
        """Inverse of :meth:`to_row` (the histogram width is read from the row's length)."""
        values: list[int] = np.asarray(row, dtype=np.int64).tolist()
        bins = bins_of_width(len(values))
        histogram: Histogram | None = None
        offsets: tuple[int, ...] | None = None
        predictions: tuple[int, ...] | None = None
        if bins:
            histogram = (
                tuple(values[block(bins, NEGATIVES_BLOCK)]),
                tuple(values[block(bins, POSITIVES_BLOCK)]),
            )
            offsets = tuple(values[block(bins, OFFSETS_BLOCK)])
            predictions = tuple(values[block(bins, PREDICTIONS_BLOCK)])
        n, predicted_positive, tp, fp, tn, fn = values[:BASE_WIDTH]
        return cls(n, predicted_positive, tp, fp, tn, fn, histogram, offsets, predictions)

    def to_list(self) -> list[int]:
        """JSON-able form: the row as a list of ints."""
        return [int(value) for value in self.to_row()]

    @classmethod
    def from_list(cls, values: Sequence[int]) -> GroupCounts:
        return cls.from_row(values)

    def _combine(self, other: GroupCounts, sign: int) -> GroupCounts:
        if not isinstance(other, GroupCounts):
            return NotImplemented
        if self.score_histogram is None and other.score_histogram is None:
            return GroupCounts(
                self.n + sign * other.n,
                self.predicted_positive + sign * other.predicted_positive,
                self.tp + sign * other.tp,
                self.fp + sign * other.fp,
                self.tn + sign * other.tn,
                self.fn + sign * other.fn,
            )
        bins = max(self.score_bins, other.score_bins)
        return GroupCounts.from_row(self.to_row(bins) + sign * other.to_row(bins))

    def __add__(self, other: GroupCounts) -> GroupCounts:
        return self._combine(other, 1)

    def __sub__(self, other: GroupCounts) -> GroupCounts:
        return self._combine(other, -1)

    def is_empty(self) -> bool:
        return self.n == 0 and self.n_labeled == 0


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


Key = tuple[str, str]


class CountTable:
    """Mergeable map of keys (e.g. ``(attribute, group)``) to counts rows of one width."""

    def __init__(self, score_bins: int = 0) -> None:
        self.score_bins = score_bins
        self._rows: dict[Any, np.ndarray] = {}

    @property
    def width(self) -> int:
        return row_width(self.score_bins)

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)

    def __contains__(self, key: object) -> bool:
        return key in self._rows

    def keys(self) -> list[Any]:
        return list(self._rows)

    def row(self, key: Any) -> np.ndarray:
        found = self._rows.get(key)
        return np.zeros(self.width, dtype=np.int64) if found is None else found.copy()

    def _fit(self, row: np.ndarray) -> np.ndarray:
        array = np.asarray(row, dtype=np.int64)
        if array.shape[0] == self.width:
            return array
        try:  # no scores in this batch (histogram unchanged), or the layout without score sums
            return widen(array, self.score_bins)
        except ValueError:
            raise ValueError(
                f"row has {array.shape[0]} cells, table rows have {self.width}"
            ) from None

    def add_row(self, key: Any, row: np.ndarray, sign: int = 1) -> None:
        current = self._rows.get(key)
        fitted = self._fit(row) * sign
        updated = fitted.copy() if current is None else current + fitted
        if not updated.any():
            self._rows.pop(key, None)
        else:
            self._rows[key] = updated

    def add_matrix(self, keys: Sequence[Any], matrix: np.ndarray, sign: int = 1) -> None:
        """Add (or with ``sign=-1`` subtract) the rows of a :func:`count_batch` matrix."""
        if len(keys) != matrix.shape[0]:
            raise ValueError("one key per matrix row is needed")
        nonempty = np.flatnonzero(matrix.any(axis=1))
        for index in nonempty:
            self.add_row(keys[int(index)], matrix[index], sign)

    def merge(self, other: CountTable, sign: int = 1) -> None:
        for key, row in other._rows.items():
            self.add_row(key, row, sign)

    def __add__(self, other: CountTable) -> CountTable:
        result = self.copy()
        result.merge(other)
        return result

    def __sub__(self, other: CountTable) -> CountTable:
        result = self.copy()
        result.merge(other, sign=-1)
        return result

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CountTable):
            return NotImplemented
        return (
            self.width == other.width
            and self._rows.keys() == other._rows.keys()
            and all(np.array_equal(row, other._rows[key]) for key, row in self._rows.items())
        )

    __hash__ = None  # type: ignore[assignment]

    def copy(self) -> CountTable:
        result = CountTable(self.score_bins)
        result._rows = {key: row.copy() for key, row in self._rows.items()}
        return result

    def counts(self) -> dict[Any, GroupCounts]:
        return {key: GroupCounts.from_row(row) for key, row in self._rows.items()}

    @classmethod
    def from_counts(cls, counts: Mapping[Any, GroupCounts], score_bins: int = 0) -> CountTable:
        table = cls(score_bins)
        for key, value in counts.items():
            table.add_row(key, value.to_row(score_bins))
        return table

    def to_json(self) -> dict[str, Any]:
        """JSON-able form: ``{"score_bins": b, "rows": [[key..., [cells...]], ...]}``."""
        rows = []
        for key, row in sorted(self._rows.items(), key=lambda item: _sort_key(item[0])):
            key_list = list(key) if isinstance(key, tuple) else [key]
            rows.append([*key_list, [int(value) for value in row]])
        return {"score_bins": self.score_bins, "rows": rows}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CountTable:
        table = cls(int(data.get("score_bins", 0)))
        for entry in data["rows"]:
            *key_parts, cells = entry
            key = tuple(key_parts) if len(key_parts) > 1 else key_parts[0]
            table.add_row(key, np.asarray(cells, dtype=np.int64))
        return table


def _sort_key(key: Any) -> tuple[str, ...]:
    return tuple(map(str, key)) if isinstance(key, tuple) else (str(key),)


def sum_counts(values: Iterable[GroupCounts]) -> GroupCounts:
    """Sum of several groups' counts (the empty sum is :meth:`GroupCounts.zero`)."""
    total = GroupCounts()
    for value in values:
        total = total + value
    return total
