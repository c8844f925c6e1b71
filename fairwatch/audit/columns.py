"""Turning audit rows into the engine's arrays: decisions, labels, scores, sensitive attributes.

``prediction`` (0/1 or true/false) is the decision; without it, ``score >= threshold`` is.
``label`` is 0/1 or true/false; an empty value means the row is not labeled (yet). A sensitive
attribute is a column named after it or a field of the row's ``sensitive`` object.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from fairwatch.audit.errors import AuditInputError
from fairwatch.audit.reader import Rows
from monitor.engine.counts import UNLABELED

_TRUE = {"1", "1.0", "true", "t", "yes"}
_FALSE = {"0", "0.0", "false", "f", "no"}
_MISSING = 2  # marker while parsing


@dataclass(frozen=True)
class AuditColumns:
    """The arrays one audit counts: one entry per row."""

    prediction: np.ndarray  # int8, 0/1
    label: np.ndarray  # int8, 0/1 or -1 (unlabeled)
    score: np.ndarray | None  # float64 in [0, 1], NaN when absent
    sensitive: dict[str, np.ndarray]  # attribute → object array of values


def attribute_column(rows: Rows, attribute: str) -> str | None:
    """The column holding ``attribute``: itself or ``sensitive.<attribute>``."""
    for name in (attribute, f"sensitive.{attribute}"):
        if name in rows:
            return name
    return None


def _binary_value(value: object) -> int:
    """1, 0, ``_MISSING`` or -1 (not binary) for one cell."""
    if value is None:
        return _MISSING
    if isinstance(value, bool | np.bool_):
        return int(value)
    if isinstance(value, int | float | np.integer | np.floating):
        if isinstance(value, float | np.floating) and math.isnan(value):
            return _MISSING
        return int(value) if value in (0, 1) else -1
    text = str(value).strip().lower()
    if text in _TRUE:
        return 1
    if text in _FALSE:
        return 0
    return _MISSING if text == "" else -1


def _binary(values: np.ndarray, column: str, allow_missing: bool) -> np.ndarray:
    """0/1 as int8 (missing → -1 when allowed); raises naming a few offending values."""
    if values.dtype == np.bool_:
        return values.astype(np.int8)
    if values.dtype.kind in "iuf":
        numbers = values.astype(np.float64)
        missing = np.isnan(numbers)
        parsed = np.where(missing, _MISSING, np.where(np.isin(numbers, (0.0, 1.0)), numbers, -1))
    else:
        parsed = np.fromiter(map(_binary_value, values), dtype=np.int64, count=len(values))
    bad = parsed < 0
    if bad.any():
        examples = ", ".join(repr(value) for value in dict.fromkeys(values[bad].tolist()))
        raise AuditInputError(
            f"column {column!r} must be binary (0/1 or true/false); found "
            f"{', '.join(examples.split(', ')[:3])} in {int(bad.sum())} row(s)"
        )
    missing_rows = parsed == _MISSING
    if missing_rows.any() and not allow_missing:
        raise AuditInputError(f"column {column!r} has {int(missing_rows.sum())} empty value(s)")
    return np.where(missing_rows, UNLABELED, parsed).astype(np.int8)


def _scores(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind in "iuf":
        numbers = values.astype(np.float64)
        invalid = np.zeros(len(values), dtype=bool)
    else:
        numbers = np.full(len(values), np.nan)
        invalid = np.zeros(len(values), dtype=bool)
        for index, value in enumerate(values.tolist()):
            if value is None or value == "":
                continue
            try:
                numbers[index] = float(value)
            except (TypeError, ValueError):
                invalid[index] = True
    with np.errstate(invalid="ignore"):
        out_of_range = (numbers < 0) | (numbers > 1)
    bad = invalid | out_of_range
    if bad.any():
        raise AuditInputError(
            f"column 'score' must hold numbers in [0, 1]; found {values[bad][0]!r} "
            f"in {int(bad.sum())} row(s)"
        )
    return numbers


def extract_columns(rows: Rows, attributes: Sequence[str], threshold: float = 0.5) -> AuditColumns:
    """Validate ``rows`` and pull out the arrays; raises :class:`AuditInputError`."""
    missing = [a for a in attributes if attribute_column(rows, a) is None]
    if missing:
        present = ", ".join(list(rows.columns)[:12])
        raise AuditInputError(
            f"missing sensitive attribute column(s): {', '.join(missing)} "
            f"(columns present: {present})"
        )
    if "prediction" not in rows and "score" not in rows:
        raise AuditInputError("missing column: need 'prediction' (0/1) or 'score' (0..1)")
    score = _scores(rows["score"]) if "score" in rows else None
    if "prediction" in rows:
        prediction = _binary(rows["prediction"], "prediction", allow_missing=False)
    else:
        assert score is not None
        if np.isnan(score).any():
            raise AuditInputError(
                f"column 'score' has {int(np.isnan(score).sum())} empty value(s) and there is "
                "no 'prediction' column to decide those rows"
            )
        prediction = (score >= threshold).astype(np.int8)
    if "label" in rows:
        label = _binary(rows["label"], "label", allow_missing=True)
    else:
        label = np.full(rows.length, UNLABELED, dtype=np.int8)
    sensitive = {
        attribute: np.asarray(rows[attribute_column(rows, attribute) or attribute], dtype=object)
        for attribute in attributes
    }
    return AuditColumns(prediction, label, score, sensitive)
