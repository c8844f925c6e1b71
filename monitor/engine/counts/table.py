"""A mergeable table of counts rows by key (:class:`CountTable`): what the offline audit and the
tests accumulate batches into."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from monitor.engine.counts.group import GroupCounts
from monitor.engine.counts.layout import row_width, widen

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
