"""The counts of one group (:class:`GroupCounts`): they add and subtract, so windows retire old
data by subtraction and consumer instances merge by addition."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from monitor.engine.counts.layout import (
    BASE_WIDTH,
    NEGATIVES_BLOCK,
    OFFSETS_BLOCK,
    POSITIVES_BLOCK,
    PREDICTIONS_BLOCK,
    bins_of_width,
    block,
    row_width,
)

Histogram = tuple[tuple[int, ...], tuple[int, ...]]


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


def sum_counts(values: Iterable[GroupCounts]) -> GroupCounts:
    """Sum of several groups' counts (the empty sum is :meth:`GroupCounts.zero`)."""
    total = GroupCounts()
    for value in values:
        total = total + value
    return total
