"""Features and sensitive attributes as integer codes, for the proxy measures.

A categorical feature becomes one level per value (missing values a level of their own, rare
values pooled); a numeric one keeps its numbers and is also cut into quantile bins, so that the
table-based measures apply to every feature alike. Values are factorised by one dict lookup
per row (no sorting of strings, no pandas).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from fairwatch.audit.association import fold_of

#: A categorical feature keeps at most this many levels (the largest); the rest are pooled.
MOST_LEVELS = 50
#: Levels with fewer rows are pooled into ``(other)``: too few to learn anything from.
LEAST_LEVEL_ROWS = 10
#: A numeric feature with at most this many distinct values is treated as categorical;
#: with more, it is cut into this many quantile bins for the table-based measures.
NUMERIC_BINS = 10
MISSING = "(missing)"
OTHER = "(other)"


@dataclass(frozen=True)
class EncodedFeature:
    """A feature as one level code per row, plus the numbers of a numeric one."""

    name: str
    kind: str  # "categorical", "numeric" or "constant"
    levels: np.ndarray  # int64 code per row, 0..len(level_names)-1
    level_names: tuple[str, ...]
    values: np.ndarray | None  # float64 per row (NaN = missing) for a numeric feature
    missing: int
    pooled: int  # rows pooled into (other)
    note: str = ""


@dataclass(frozen=True)
class EncodedAttribute:
    """A sensitive attribute as group codes of the rows where it is known."""

    name: str
    present: np.ndarray  # bool per row: the attribute is known
    groups: np.ndarray  # int64 code per present row
    group_names: tuple[str, ...]
    fold: np.ndarray  # the cross-validation fold of each present row


def encode_attribute(name: str, values: np.ndarray) -> EncodedAttribute:
    """Group codes in the order of the group names; rows missing the attribute are left out
    (association with an unknown value is undefined), and each kept row gets its fold."""
    codes, texts = _labels(*_factorize(values.tolist()))
    missing = texts.index(MISSING) if MISSING in texts else -1
    present = codes != missing
    kept = [index for index in range(len(texts)) if index != missing]
    order = sorted(kept, key=lambda index: texts[index])
    mapping = np.full(len(texts), -1, dtype=np.int64)
    mapping[order] = np.arange(len(order))
    groups = mapping[codes[present]]
    names = tuple(texts[index] for index in order)
    return EncodedAttribute(name, present, groups, names, fold_of(groups, len(names)))


def _is_missing(value: object) -> bool:
    return value is None or value == "" or (isinstance(value, float) and np.isnan(value))


def _text(value: object) -> str:
    if _is_missing(value):
        return MISSING
    if isinstance(value, float) and value.is_integer():
        return f"{value:g}"
    return str(value)


def _factorize(values: list[object]) -> tuple[np.ndarray, list[object]]:
    """A code per value and the distinct values, in order of appearance (one dict lookup per
    value, no sorting; unhashable values, such as JSON lists, by their text)."""
    index: dict[object, int] = {}
    try:
        codes = [index.setdefault(value, len(index)) for value in values]
    except TypeError:
        index = {}
        codes = [
            index.setdefault(value if isinstance(value, str | int | float) else str(value),
                             len(index))
            for value in values
        ]  # fmt: skip
    return np.array(codes, dtype=np.int64), list(index)


def _numbers(column: np.ndarray, codes: np.ndarray, uniques: list[object]) -> np.ndarray | None:
    """The column as float64 (NaN = missing) if every present value is a number, else None."""
    if column.dtype.kind in "iuf":
        return column.astype(np.float64)
    present = [value for value in uniques if not _is_missing(value)]
    if not present or not all(
        isinstance(value, int | float) and not isinstance(value, bool) for value in present
    ):
        return None
    table = [np.nan if _is_missing(value) else float(value) for value in uniques]  # type: ignore[arg-type]
    result: np.ndarray = np.array(table, dtype=np.float64)[codes]
    return result


def _pool(codes: np.ndarray, names: list[str]) -> tuple[np.ndarray, tuple[str, ...], int]:
    """Level codes for labels: rare levels (and those beyond :data:`MOST_LEVELS`) become
    ``(other)``; ``(missing)`` always keeps its own level. Levels are ordered by size."""
    counts = np.bincount(codes, minlength=len(names))
    order = sorted(range(len(names)), key=lambda i: (-counts[i], names[i]))
    kept = [i for i in order if names[i] == MISSING or counts[i] >= LEAST_LEVEL_ROWS]
    kept = kept[:MOST_LEVELS]
    mapping = np.full(len(names), len(kept), dtype=np.int64)
    mapping[kept] = np.arange(len(kept))
    pooled_rows = int(counts.sum() - counts[kept].sum())
    level_names = [names[i] for i in kept] + ([OTHER] if pooled_rows else [])
    return mapping[codes], tuple(level_names), pooled_rows


def _labels(codes: np.ndarray, uniques: list[object]) -> tuple[np.ndarray, list[str]]:
    """Codes of the values' texts: values that read the same (None and "", 1 and 1.0) merge."""
    text_codes, texts = _factorize([_text(value) for value in uniques])
    return text_codes[codes], [str(text) for text in texts]


def _bins(numbers: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """Decile bins ``(−∞, q1], (q1, q2], …, (q_last, ∞)`` on the distinct deciles (a value shared
    by many rows, such as 0 for most capital gains, closes its bin instead of filling two);
    missing values get a bin of their own."""
    missing_rows = np.isnan(numbers)
    cuts = np.linspace(0, 1, NUMERIC_BINS + 1)[1:-1]
    inner = np.unique(np.quantile(numbers[~missing_rows], cuts))
    bins = np.searchsorted(inner, numbers, side="left")
    edges = [f"{value:.4g}" for value in inner]
    names = [f"≤ {edges[0]}"]
    names += [f"{low}–{high}" for low, high in pairwise(edges)]
    names.append(f"> {edges[-1]}")
    if missing_rows.any():
        bins = np.where(missing_rows, len(names), bins)
        names.append(MISSING)
    return bins.astype(np.int64), tuple(names)


def encode_feature(name: str, column: np.ndarray) -> EncodedFeature:
    """Categories (rare ones pooled, missing its own level) or, for a numeric column with more
    than :data:`NUMERIC_BINS` distinct values, the numbers plus their quantile bins."""
    codes, uniques = _factorize(column.tolist())
    numbers = _numbers(column, codes, uniques)
    note = ""
    if numbers is not None:
        missing_rows = np.isnan(numbers)
        distinct = len(np.unique(numbers[~missing_rows]))
        if distinct > NUMERIC_BINS:
            bins, names = _bins(numbers)
            missing = int(missing_rows.sum())
            return EncodedFeature(name, "numeric", bins, names, numbers, missing, 0)
        if distinct > 1:
            note = f"numeric with {distinct} distinct values: treated as categories"
    label_codes, texts = _labels(codes, uniques)
    levels, level_names, pooled = _pool(label_codes, texts)
    missing = int(np.count_nonzero(label_codes == texts.index(MISSING))) if MISSING in texts else 0
    kind = "categorical" if len(level_names) > 1 else "constant"
    if kind == "constant" and pooled:
        note = f"every value has fewer than {LEAST_LEVEL_ROWS} rows"
    return EncodedFeature(name, kind, levels, level_names, None, missing, pooled, note)
