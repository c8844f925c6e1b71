"""Per-group counts: the only state of the metric engine.

A group's counts are ``n`` (predictions seen), ``predicted_positive`` and, for the rows whose label
is known, the confusion counts ``tp``, ``fp``, ``tn``, ``fn``; optionally, for calibration and for
threshold advice, fixed-bin histograms of the scores: of labeled rows, one per label, with per bin
the sum of the scores' offsets from the bin's centre, and of every scored prediction (counted with
``n``, labeled or not). Counts add and subtract, so windows retire old data by subtraction and
consumer instances merge by addition.

The array form is one int64 row per group: the six :data:`COUNT_FIELDS`, then ``score_bins``
histogram cells for label 0, ``score_bins`` cells for label 1, ``score_bins`` score-offset sums and
``score_bins`` cells of scored predictions.

Bin ``b`` of ``bins`` holds the scores ``s`` with ``edges[b] <= s < edges[b + 1]`` (the last bin
also holds 1), ``edges[b] = b / bins`` in float64 (:func:`bin_edges`): exactly the scores that the
decision ``s >= edges[b]`` selects among those of bins ``b`` and above. So the counts selected by
any threshold at a bin edge are exact sums of bins (what threshold advice relies on,
:mod:`monitor.engine.thresholds`).

Score offsets are fixed point: a labeled row with score ``s`` in bin ``b`` adds
``round((s − mid_b) · SCORE_SCALE)`` to the bin's sum, ``mid_b = (b + ½) / bins`` its centre and
:data:`SCORE_SCALE` = 10⁶ (micro-units). Integers keep the counts' arithmetic exact: a sum minus
the rows it added is exactly 0 again, whatever the order of additions (floats would leave
residues and differ between a window summed from panes and one counted at once). The mean score
of a bin is ``mid_b + offsets_b / (SCORE_SCALE · count_b)``, within 5·10⁻⁷ of the mean of the
scores themselves. Offsets from the centre (not the scores themselves) make a row of an earlier
layout, without offset sums, read as "every score at its bin's centre" once padded with zeros:
exactly what calibration assumed before. Each row adds at most ``SCORE_SCALE / 2`` in absolute
value, so an int64 sum holds 1.8·10¹³ rows. A row of a layout without the predictions' cells reads
as "no scored prediction" once padded: threshold advice then declines such windows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

COUNT_FIELDS: tuple[str, ...] = ("n", "predicted_positive", "tp", "fp", "tn", "fn")
BASE_WIDTH = len(COUNT_FIELDS)
UNLABELED = -1
#: Score offsets are stored in units of 1 / SCORE_SCALE (micro-units).
SCORE_SCALE = 1_000_000
#: Cells per histogram bin: label-0 count, label-1 count, score-offset sum, scored predictions.
CELLS_PER_BIN = 4
#: Cells per bin of the earlier layouts (checkpoints written then): without score-offset sums,
#: then without the scored predictions' cells.
LEGACY_CELLS_PER_BIN: tuple[int, ...] = (2, 3)
#: Score bins of the histograms unless configured (``engine.score_bins``): thresholds in steps of
#: 0.02 (calibration merges them into ``engine.calibration_bins``).
DEFAULT_SCORE_BINS = 50
#: Where each block of ``score_bins`` cells starts, after the base counts (in bins).
NEGATIVES_BLOCK, POSITIVES_BLOCK, OFFSETS_BLOCK, PREDICTIONS_BLOCK = 0, 1, 2, 3

Histogram = tuple[tuple[int, ...], tuple[int, ...]]


def row_width(score_bins: int = 0) -> int:
    """Width of a counts row holding ``score_bins`` histogram bins (0: no histogram)."""
    return BASE_WIDTH + CELLS_PER_BIN * score_bins


def block(score_bins: int, which: int) -> slice:
    """The cells of one block of a row (``NEGATIVES_BLOCK`` … ``PREDICTIONS_BLOCK``)."""
    start = BASE_WIDTH + which * score_bins
    return slice(start, start + score_bins)


def bin_edges(score_bins: int) -> np.ndarray:
    """The ``score_bins + 1`` edges ``b / bins`` of equal bins on [0, 1] (float64 division)."""
    return np.arange(score_bins + 1, dtype=np.float64) / score_bins


def score_bin(scores: np.ndarray, score_bins: int) -> np.ndarray:
    """The bin of each (finite) score: ``b`` with ``edges[b] <= s < edges[b + 1]`` (1 and above
    in the last bin, below 0 in the first). ``floor(s · bins)`` can land one bin off next to an
    edge (``0.29 · 100 = 28.999…``); it is corrected against the edges themselves."""
    edges = bin_edges(score_bins)
    index = np.multiply(scores, score_bins).astype(np.int64)
    np.clip(index, 0, score_bins - 1, out=index)
    index -= scores < np.take(edges, index)
    index += scores >= np.take(edges, index + 1)
    np.clip(index, 0, score_bins - 1, out=index)
    return index


def bins_of_width(width: int) -> int:
    """The number of histogram bins stored in a counts row of ``width`` cells."""
    extra = width - BASE_WIDTH
    if extra < 0 or extra % CELLS_PER_BIN:
        raise ValueError(
            f"a counts row has {BASE_WIDTH} + {CELLS_PER_BIN} × bins cells, got {width}"
        )
    return extra // CELLS_PER_BIN


def bin_centres(score_bins: int) -> np.ndarray:
    """The centre ``(b + ½) / bins`` of each of ``score_bins`` equal bins on [0, 1]."""
    return (np.arange(score_bins) + 0.5) / score_bins


def widen(matrix: np.ndarray, score_bins: int) -> np.ndarray:
    """A counts matrix in the current layout for ``score_bins`` bins: rows without a histogram
    (:data:`BASE_WIDTH` cells) or of an earlier layout (without score-offset sums, without the
    scored predictions' cells) get zero cells on the right (an offset sum of 0 reads as scores at
    their bins' centres; no predictions' cells as no scored prediction). A matrix of the current
    width is returned as it is."""
    array = np.asarray(matrix, dtype=np.int64)
    width = row_width(score_bins)
    if array.shape[-1] == width:
        return array
    earlier = [BASE_WIDTH + cells * score_bins for cells in LEGACY_CELLS_PER_BIN]
    if array.shape[-1] not in (BASE_WIDTH, *earlier):
        raise ValueError(
            f"a counts row for {score_bins} score bins has {width} cells "
            f"({' or '.join(map(str, earlier))} in earlier layouts), got {array.shape[-1]} "
            f"({_stored_bins(array.shape[-1])}): counts written with another engine.score_bins "
            "cannot be combined (use a new state_dir, or restore the setting; the default was "
            f"10 bins before it became {DEFAULT_SCORE_BINS})"
        )
    widened = np.zeros((*array.shape[:-1], width), dtype=np.int64)
    widened[..., : array.shape[-1]] = array
    return widened


def _stored_bins(width: int) -> str:
    """What a row of ``width`` cells may hold, in words (``10 bins``, ``10 or 15 bins``)."""
    extra = width - BASE_WIDTH
    options = sorted(
        {extra // cells for cells in (CELLS_PER_BIN, *LEGACY_CELLS_PER_BIN) if extra % cells == 0}
    )
    if extra <= 0 or not options:
        return "not a counts row"
    return " or ".join(map(str, options)) + " bins"


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
        out[:, BASE_WIDTH:] = _score_histogram(
            groups, n_groups, labels, score, score_bins, only_labels
        )
    return out


def _score_histogram(
    groups: np.ndarray,
    n_groups: int,
    labels: np.ndarray | None,
    score: np.ndarray,
    score_bins: int,
    only_labels: np.ndarray | None,
) -> np.ndarray:
    """Per group: labeled scored rows by (label, bin), each bin's score-offset sum, then the
    scored predictions by bin (rows that count ``n``)."""
    width = CELLS_PER_BIN * score_bins
    size = n_groups * width
    scores = np.asarray(score, dtype=np.float64)
    if scores.shape[0] != groups.shape[0]:
        raise ValueError("score and group_index differ in length")
    scored = np.isfinite(scores)
    all_scored = bool(scored.all())
    if all_scored:
        bin_index = score_bin(scores, score_bins)
    else:
        bin_index = np.zeros(scores.shape[0], dtype=np.int64)
        bin_index[scored] = score_bin(scores[scored], score_bins)
    cell = groups.astype(np.int64)
    cell *= width
    cell += bin_index
    if only_labels is None:
        predicted = cell if all_scored else cell[scored]
    else:
        predicted = cell[scored & ~only_labels]
    counted = np.bincount(predicted, minlength=size)
    counted = np.roll(counted, PREDICTIONS_BLOCK * score_bins)  # into the predictions' cells
    if labels is None:
        return counted.reshape(n_groups, width)
    labeled = scored & (labels >= 0)
    labeled_cell = cell[labeled]
    labeled_bin = bin_index[labeled]
    label_of = labels[labeled].astype(np.int64)
    label_of *= score_bins
    label_of += labeled_cell
    counted += np.bincount(label_of, minlength=size)
    offsets = scores[labeled]
    offsets -= bin_centres(score_bins)[labeled_bin]
    offsets *= SCORE_SCALE
    np.rint(offsets, out=offsets)
    # float64 sums of integers are exact below 2⁵³: 1.8·10¹⁰ rows per bin and batch
    sums = np.bincount(labeled_cell, offsets, minlength=size)
    counted += np.roll(np.rint(sums).astype(np.int64), OFFSETS_BLOCK * score_bins)
    return counted.reshape(n_groups, width)


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
