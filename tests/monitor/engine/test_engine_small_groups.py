"""Small groups: a group without enough data for a rate is left out of that rate's disparities,
reported with its own numbers, and never silences the comparison of the others."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from fairwatch.cli import main
from monitor.config import MonitorConfig
from monitor.engine.counts import GroupCounts
from monitor.engine.evaluate import EngineConfig, evaluate
from monitor.engine.results import Disparity, WindowEvaluation


def group(n: int, selected: int, positives: int | None = None) -> GroupCounts:
    positives = n // 2 if positives is None else positives
    tp = min(selected, positives)
    fp = selected - tp
    return GroupCounts(n, selected, tp, fp, n - positives - fp, positives - tp)


def find(evaluation: WindowEvaluation, metric: str, group_name: str | None = None) -> Disparity:
    (match,) = [d for d in evaluation.disparities if d.metric == metric and d.group == group_name]
    return match


RACE = {
    ("race", "White"): group(600, 300),  # 0.50
    ("race", "Black"): group(400, 120),  # 0.30
    ("race", "Other"): group(12, 12),  # 1.00, far too few to judge
}


def test_one_tiny_group_is_left_out_and_the_others_are_judged() -> None:
    evaluation = evaluate("m", "1h", 0, 3600, RACE, EngineConfig(min_group_size=30))
    parity = find(evaluation, "demographic_parity_difference")
    assert parity.value == pytest.approx(0.5 - 0.3)  # not 1.0 − 0.3: Other is left out
    assert parity.status == "breach"
    assert parity.min_group_n == 400
    assert parity.small_groups == ("Other",)
    assert (parity.highest_group, parity.lowest_group) == ("White", "Black")
    assert parity.ci_low is not None and parity.ci_low < 0.2 < parity.ci_high  # type: ignore[operator]
    # the tiny group keeps its own results: its rate and interval, and its own ratio to the
    # reference, which is reported but not judged
    other = next(g for g in evaluation.groups if g.group == "Other")
    assert other.rates["selection_rate"] == 1.0 and other.intervals["selection_rate"] is not None
    ratio = find(evaluation, "selection_rate_ratio_to_reference", "Other")
    assert ratio.status == "not_computable" and ratio.value == pytest.approx(2.0)
    assert ratio.small_groups == ("Other",)


def test_an_attribute_with_one_large_group_is_not_computable() -> None:
    counts = {("sex", "Female"): group(10, 1), ("sex", "Male"): group(500, 250)}
    parity = find(evaluate("m", "1h", 0, 3600, counts), "demographic_parity_difference")
    assert parity.status == "not_computable" and parity.value is None
    assert parity.min_group_n == 10 and parity.small_groups == ("Female",)
    assert parity.highest_group is None and parity.rate is None


def test_equalized_odds_counts_labeled_positives_and_negatives_not_predictions() -> None:
    # C has 200 predictions (plenty) but 5 labeled positives: it cannot take part in the TPR
    # comparison, yet the TPR gap of A and B and the FPR gap of all three are judged
    counts = {
        ("g", "A"): group(500, 250, positives=250),  # TPR 1.0, FPR 0.0
        ("g", "B"): group(500, 150, positives=250),  # TPR 0.6, FPR 0.0
        ("g", "C"): group(200, 50, positives=5),  # TPR 1.0 on 5 rows, FPR 45/195
    }
    evaluation = evaluate("m", "1h", 0, 3600, counts)
    odds = find(evaluation, "equalized_odds_difference")
    assert odds.status == "breach"
    assert odds.value == pytest.approx(0.4)  # the TPR gap of A and B beats C's FPR of 0.23
    assert odds.small_groups == ("C",)
    assert (odds.rate, odds.highest_group, odds.lowest_group) == ("tpr", "A", "B")
    assert odds.min_group_n == 195  # C's labeled negatives, in the FPR part
    opportunity = find(evaluation, "equal_opportunity_difference")
    assert opportunity.small_groups == ("C",) and opportunity.status == "breach"
    # selection rates need predictions only: C takes part
    assert find(evaluation, "demographic_parity_difference").small_groups == ()


def test_the_smallest_evidence_is_counted_per_rate() -> None:
    # B has 40 labeled negatives but 20 labeled positives: in for FPR, out for TPR
    counts = {("g", "A"): group(400, 200, positives=200), ("g", "B"): group(60, 30, positives=20)}
    evaluation = evaluate("m", "1h", 0, 3600, counts)
    fpr_only = find(evaluation, "equalized_odds_difference")
    assert fpr_only.status == "not_computable"  # the TPR part has one group
    assert fpr_only.small_groups == ("B",)
    assert find(evaluation, "accuracy_difference").small_groups == ()


def test_a_deprecated_small_groups_key_still_loads() -> None:
    for policy in ("gate", "exclude"):
        config = MonitorConfig.model_validate(
            {"sensitive": {"attributes": ["race"]}, "engine": {"small_groups": policy}}
        )
        assert config.engine.min_group_size == 30


def test_the_audit_leaves_small_groups_out_whatever_the_deprecated_flag_says(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [{"prediction": int(i < 300), "race": "White"} for i in range(600)]
    rows += [{"prediction": int(i < 120), "race": "Black"} for i in range(400)]
    rows += [{"prediction": 1, "race": "Other"} for _ in range(12)]
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(row) for row in rows))
    results = {}
    for extra in ([], ["--small-groups", "gate"], ["--small-groups", "exclude"]):
        argv = ["audit", str(path), "--sensitive", "race", "--format", "json", *extra]
        assert main(argv) == 0
        captured = capsys.readouterr()
        assert ("deprecated" in captured.err) == bool(extra)
        report = orjson.loads(captured.out)
        (parity,) = [d for d in report["disparities"]
                     if d["metric"] == "demographic_parity_difference"]  # fmt: skip
        results[tuple(extra)] = (parity["status"], round(parity["value"], 9))
    assert set(results.values()) == {("breach", 0.2)}
