"""Ratios to the reference group (:mod:`monitor.engine.reference`), the four-fifths rule.

The reference is the configured group or the most favoured one with enough predictions; each
group's ratio is its favourable rate over the reference's, checked against a direct
computation, with the reference's own ratio exactly 1 and small groups not judged.
"""

from __future__ import annotations

import numpy as np
import pytest

from monitor.engine.config import EngineConfig
from monitor.engine.counts import GroupCounts
from monitor.engine.disparity_intervals import Segments
from monitor.engine.reference import compared_rate, reference_ratios, reference_rows
from monitor.engine.table import GroupTable

GROUPS = ["A", "B", "C", "D"]
# n, predicted positive (labels do not matter here)
SIZES = {"A": (200, 120), "B": (300, 90), "C": (150, 90), "D": (20, 19)}


def matrix() -> np.ndarray:
    return np.stack([GroupCounts(n, pp, 0, 0, 0, 0).to_row() for n, pp in SIZES.values()])


def table() -> GroupTable:
    return GroupTable(["g"], [GROUPS], matrix(), Segments.from_sizes([4]))


def ratios(config: EngineConfig, favourable: int = 1) -> dict[str | None, object]:
    [result] = reference_ratios(table(), config, favourable)
    return {d.group: d for d in result}


def test_the_most_favoured_group_with_enough_predictions_is_the_reference() -> None:
    config = EngineConfig(min_group_size=30)
    # A and C select 0.6, D 0.95 but has 20 predictions: the larger of A and C wins the tie
    [row] = reference_rows(table(), config, 1)
    assert GROUPS[row] == "A"
    # with prediction 0 favourable the most favoured is the one selecting least: B (0.7 of 0s)
    [row] = reference_rows(table(), config, 0)
    assert GROUPS[row] == "B"
    assert compared_rate("selection_rate", 0) == "favourable_rate"
    assert compared_rate("tpr", 0) == "tpr"


def test_each_ratio_is_the_favourable_rate_over_the_references() -> None:
    found = ratios(EngineConfig(min_group_size=30))
    rate = {group: pp / n for group, (n, pp) in SIZES.items()}
    assert found["A"].value == 1.0 and found["A"].ci_low == found["A"].ci_high == 1.0
    for group in ("B", "C"):
        assert found[group].value == pytest.approx(rate[group] / rate["A"])
        assert found[group].ci_low <= found[group].value <= found[group].ci_high
        assert found[group].reference_group == "A"
    assert found["B"].value == pytest.approx(0.5)
    assert found["B"].status == "breach"  # 0.5, its interval far below 0.8
    assert found["C"].status == "ok"  # exactly 1
    # D has too few predictions: reported with its value, named small, not judged
    assert found["D"].status == "not_computable" and found["D"].small_groups == ("D",)
    assert found["D"].value == pytest.approx(rate["D"] / rate["A"])


def test_a_configured_reference_group_and_an_absent_one() -> None:
    found = ratios(EngineConfig(min_group_size=30, reference_groups={"g": "B"}))
    assert found["A"].value == pytest.approx((120 / 200) / (90 / 300))
    assert found["A"].reference_group == "B"
    missing = ratios(EngineConfig(min_group_size=30, reference_groups={"g": "Z"}))
    assert sorted(missing) == sorted(found)  # an undecidable ratio for each group
    for ratio in missing.values():
        assert ratio.status == "not_computable" and ratio.reference_group == "Z"
        assert ratio.value is None
