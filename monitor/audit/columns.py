"""Turning audit rows into the engine's arrays: decisions, labels, scores, sensitive attributes.

``prediction`` (0/1 or true/false) is the decision; without it, ``score >= threshold`` is.
``label`` is 0/1 or true/false; an empty value means the row is not labeled (yet). A sensitive
attribute is a column named after it or a field of the row's ``sensitive`` object.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from monitor.audit.errors import AuditInputError
from monitor.counts import UNLABELED

_TRUE = {"1", "1.0", "true", "t", "yes"}
_FALSE = {"0", "0.0", "false", "f", "no"}


@dataclass(frozen=True)
class AuditColumns:
    """The arrays one audit counts: one entry per row."""

    prediction: np.ndarray  # int8, 0/1
    label: np.ndarray  # int8, 0/1 or -1 (unlabeled)
    score: np.ndarray | None  # float64 in [0, 1], NaN when absent
    sensitive: dict[str, np.ndarray]  # attribute → object array of values


def attribute_column(frame: pd.DataFrame, attribute: str) -> str | None:
    """The column holding ``attribute``: itself or ``sensitive.<attribute>``."""
    for name in (attribute, f"sensitive.{attribute}"):
        if name in frame.columns:
            return name
    return None


def _binary(values: pd.Series, column: str, allow_missing: bool) -> np.ndarray:
    """0/1 as int8 (missing → -1 when allowed); raises naming a few offending values."""
    if values.dtype == bool:
        return values.to_numpy(dtype=np.int8)
    missing = values.isna().to_numpy()
    if pd.api.types.is_numeric_dtype(values.dtype):
        numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~missing & (numbers != 0) & (numbers != 1)
        result = np.where(missing, UNLABELED, numbers).astype(np.int8)
    else:
        text = values.astype(str).str.strip().str.lower()
        truthy, falsy = text.isin(_TRUE).to_numpy(), text.isin(_FALSE).to_numpy()
        missing = missing | text.eq("").to_numpy()
        bad = ~(truthy | falsy | missing)
        result = np.where(truthy, 1, np.where(falsy, 0, UNLABELED)).astype(np.int8)
    if bad.any():
        examples = ", ".join(repr(value) for value in pd.unique(values[bad])[:3])
        raise AuditInputError(
            f"column {column!r} must be binary (0/1 or true/false); found {examples} "
            f"in {int(bad.sum())} row(s)"
        )
    if missing.any() and not allow_missing:
        raise AuditInputError(f"column {column!r} has {int(missing.sum())} empty value(s)")
    return result


def extract_columns(
    frame: pd.DataFrame, attributes: Sequence[str], threshold: float = 0.5
) -> AuditColumns:
    """Validate ``frame`` and pull out the arrays; raises :class:`AuditInputError`."""
    missing = [a for a in attributes if attribute_column(frame, a) is None]
    if missing:
        raise AuditInputError(
            f"missing sensitive attribute column(s): {', '.join(missing)} "
            f"(columns present: {', '.join(map(str, frame.columns[:12]))})"
        )
    if "prediction" not in frame.columns and "score" not in frame.columns:
        raise AuditInputError("missing column: need 'prediction' (0/1) or 'score' (0..1)")
    score: np.ndarray | None = None
    if "score" in frame.columns:
        numbers = pd.to_numeric(frame["score"], errors="coerce")
        invalid = numbers.isna() & frame["score"].notna()
        out_of_range = (numbers < 0) | (numbers > 1)
        if invalid.any() or out_of_range.any():
            bad = frame["score"][invalid | out_of_range]
            raise AuditInputError(
                f"column 'score' must hold numbers in [0, 1]; found {bad.iloc[0]!r} "
                f"in {len(bad)} row(s)"
            )
        score = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    if "prediction" in frame.columns:
        prediction = _binary(frame["prediction"], "prediction", allow_missing=False)
    else:
        assert score is not None
        if np.isnan(score).any():
            raise AuditInputError(
                f"column 'score' has {int(np.isnan(score).sum())} empty value(s) and there is "
                "no 'prediction' column to decide those rows"
            )
        prediction = (score >= threshold).astype(np.int8)
    if "label" in frame.columns:
        label = _binary(frame["label"], "label", allow_missing=True)
    else:
        label = np.full(len(frame), UNLABELED, dtype=np.int8)
    sensitive = {
        attribute: frame[attribute_column(frame, attribute) or attribute].to_numpy(dtype=object)
        for attribute in attributes
    }
    return AuditColumns(prediction, label, score, sensitive)
