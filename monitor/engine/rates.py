"""Per-group rates, declared once as numerator and denominator over the confusion counts.

Every rate is ``sum(numerator fields) / sum(denominator fields)`` of one group's counts and is
undefined (``None``, NaN in arrays) when the denominator is zero. Calibration (``ece``,
``calibration_gap``) comes from the score histograms: :mod:`monitor.engine.calibration`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from monitor.engine.counts import BASE_WIDTH, COUNT_FIELDS

FIELD_INDEX = {name: index for index, name in enumerate(COUNT_FIELDS)}


@dataclass(frozen=True)
class RateDefinition:
    """``name = sum(numerator) / sum(denominator)`` over :data:`COUNT_FIELDS`."""

    name: str
    numerator: tuple[str, ...]
    denominator: tuple[str, ...]
    description: str


LABELED = ("tp", "fp", "tn", "fn")

RATES: tuple[RateDefinition, ...] = (
    RateDefinition("selection_rate", ("predicted_positive",), ("n",), "share predicted 1"),
    RateDefinition("tpr", ("tp",), ("tp", "fn"), "true positive rate (recall)"),
    RateDefinition("fpr", ("fp",), ("fp", "tn"), "false positive rate"),
    RateDefinition("fnr", ("fn",), ("tp", "fn"), "false negative rate"),
    RateDefinition("tnr", ("tn",), ("fp", "tn"), "true negative rate"),
    RateDefinition("ppv", ("tp",), ("tp", "fp"), "positive predictive value (precision)"),
    RateDefinition("npv", ("tn",), ("tn", "fn"), "negative predictive value"),
    RateDefinition("accuracy", ("tp", "tn"), LABELED, "share of labeled rows predicted right"),
    RateDefinition("base_rate", ("tp", "fn"), LABELED, "share of labeled rows with label 1"),
)
RATE_NAMES: tuple[str, ...] = tuple(rate.name for rate in RATES)
RATE_BY_NAME = {rate.name: rate for rate in RATES}


def _field_sum(matrix: np.ndarray, fields: tuple[str, ...]) -> np.ndarray:
    total = matrix[:, FIELD_INDEX[fields[0]]].copy()
    for name in fields[1:]:
        total += matrix[:, FIELD_INDEX[name]]
    return total


def rate_counts(matrix: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Numerator and denominator of rate ``name`` for each row of a counts matrix."""
    rate = RATE_BY_NAME[name]
    return _field_sum(matrix, rate.numerator), _field_sum(matrix, rate.denominator)


def _indicator(fields_of: str) -> np.ndarray:
    matrix = np.zeros((BASE_WIDTH, len(RATES)), dtype=np.int64)
    for column, rate in enumerate(RATES):
        for name in getattr(rate, fields_of):
            matrix[FIELD_INDEX[name], column] = 1
    return matrix


_NUMERATORS = _indicator("numerator")
_DENOMINATORS = _indicator("denominator")


def all_rate_counts(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Numerators and denominators of every rate in :data:`RATES` (groups × rates matrices)."""
    base = matrix[:, :BASE_WIDTH]
    return base @ _NUMERATORS, base @ _DENOMINATORS


def divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator`` as float64, NaN where the denominator is zero."""
    result = np.full(numerator.shape, np.nan)
    defined = denominator > 0
    np.divide(numerator, denominator, out=result, where=defined)
    return result


def rate_values(matrix: np.ndarray, name: str) -> np.ndarray:
    """Rate ``name`` of each row of a counts matrix (NaN when undefined)."""
    return divide(*rate_counts(matrix, name))


def label_coverage(matrix: np.ndarray) -> np.ndarray:
    """Labeled rows / ``n`` (NaN when ``n`` is 0); above 1 only if labels were counted into a
    window that did not count their predictions."""
    return divide(_field_sum(matrix, LABELED), matrix[:, FIELD_INDEX["n"]])


def to_optional(values: np.ndarray) -> list[float | None]:
    """Floats with NaN turned into ``None`` (the engine's undefined)."""
    return [None if value != value else value for value in values.tolist()]
