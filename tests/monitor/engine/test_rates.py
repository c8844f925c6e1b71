"""The rate table (:mod:`monitor.engine.rates`): every rate against its textbook formula.

Rates are checked on random confusion counts against a direct computation from the four
cells, including the rows where a denominator is zero (undefined: NaN / ``None``, never 0).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from monitor.engine.counts import GroupCounts
from monitor.engine.rates import (
    RATE_NAMES,
    all_rate_counts,
    divide,
    label_coverage,
    rate_counts,
    rate_values,
    to_optional,
)


def textbook(n: int, pp: int, tp: int, fp: int, tn: int, fn: int) -> dict[str, float]:
    def ratio(a: int, b: int) -> float:
        return a / b if b else math.nan

    return {
        "selection_rate": ratio(pp, n),
        "tpr": ratio(tp, tp + fn),
        "fpr": ratio(fp, fp + tn),
        "fnr": ratio(fn, tp + fn),
        "tnr": ratio(tn, fp + tn),
        "ppv": ratio(tp, tp + fp),
        "npv": ratio(tn, tn + fn),
        "accuracy": ratio(tp + tn, tp + fp + tn + fn),
        "base_rate": ratio(tp + fn, tp + fp + tn + fn),
    }


@pytest.fixture
def matrix() -> np.ndarray:
    rng = np.random.default_rng(5)
    rows = []
    for _ in range(200):
        tp, fp, tn, fn = (int(v) for v in rng.integers(0, 4, 4) * rng.integers(0, 2, 4))
        unlabeled_positive, unlabeled_negative = (int(v) for v in rng.integers(0, 3, 2))
        pp = tp + fp + unlabeled_positive
        n = pp + tn + fn + unlabeled_negative
        rows.append(GroupCounts(n, pp, tp, fp, tn, fn).to_row())
    rows.append(GroupCounts(0, 0, 0, 0, 0, 0).to_row())  # an empty group: everything undefined
    return np.stack(rows)


def test_every_rate_equals_its_formula_and_is_undefined_without_a_denominator(
    matrix: np.ndarray,
) -> None:
    expected = [textbook(*(int(v) for v in row[:6])) for row in matrix]
    for name in RATE_NAMES:
        values = rate_values(matrix, name)
        for row, value in zip(expected, values.tolist(), strict=True):
            if math.isnan(row[name]):
                assert math.isnan(value), name
            else:
                assert value == pytest.approx(row[name]), name


def test_all_rates_at_once_equal_each_rate_alone(matrix: np.ndarray) -> None:
    numerators, denominators = all_rate_counts(matrix)
    for column, name in enumerate(RATE_NAMES):
        numerator, denominator = rate_counts(matrix, name)
        np.testing.assert_array_equal(numerators[:, column], numerator)
        np.testing.assert_array_equal(denominators[:, column], denominator)


def test_rates_at_0_and_1_are_exact() -> None:
    perfect = np.stack([GroupCounts(10, 4, 4, 0, 6, 0).to_row()])
    assert rate_values(perfect, "tpr").tolist() == [1.0]
    assert rate_values(perfect, "fpr").tolist() == [0.0]
    assert rate_values(perfect, "accuracy").tolist() == [1.0]


def test_coverage_divide_and_optional() -> None:
    rows = np.stack(
        [GroupCounts(10, 5, 2, 1, 3, 1).to_row(), GroupCounts(0, 0, 0, 0, 0, 0).to_row()]
    )
    coverage = label_coverage(rows)
    assert coverage[0] == pytest.approx(0.7) and math.isnan(coverage[1])
    assert to_optional(divide(np.array([1, 0]), np.array([4, 0]))) == [0.25, None]
