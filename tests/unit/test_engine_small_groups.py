"""``small_groups``: a group below the minimum gates its attribute's disparities, or is left out."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from fairwatch.cli import main
from monitor.counts import GroupCounts
from monitor.engine import EngineConfig, evaluate
from monitor.results import Disparity, WindowEvaluation


def group(n: int, selected: int) -> GroupCounts:
    positives = n // 2
    tp = min(selected, positives)
    fp = selected - tp
    return GroupCounts(n, selected, tp, fp, n - positives - fp, positives - tp)


def find(evaluation: WindowEvaluation, metric: str, group_name: str | None = None) -> Disparity:
    (match,) = [
        d for d in evaluation.disparities if d.metric == metric and d.group == group_name
    ]
    return match


RACE = {
    ("race", "White"): group(600, 300),  # 0.50
    ("race", "Black"): group(400, 120),  # 0.30
    ("race", "Other"): group(12, 12),  # 1.00, far too few to judge
}


def test_by_default_one_tiny_group_makes_the_attribute_insufficient() -> None:
    evaluation = evaluate("m", "1h", 0, 3600, RACE, EngineConfig(min_group_size=30))
    parity = find(evaluation, "demographic_parity_difference")
    assert parity.status == "insufficient_data"
    assert parity.value == pytest.approx(1.0 - 0.3)  # over every group, as fairlearn computes it
    assert parity.min_group_n == 12


def test_excluded_tiny_groups_leave_the_others_judged() -> None:
    config = EngineConfig(min_group_size=30, small_groups="exclude")
    evaluation = evaluate("m", "1h", 0, 3600, RACE, config)
    parity = find(evaluation, "demographic_parity_difference")
    assert parity.value == pytest.approx(0.5 - 0.3)
    assert parity.status == "breach"
    assert parity.min_group_n == 400
    assert parity.ci_low is not None and parity.ci_low < 0.2 < parity.ci_high  # type: ignore[operator]
    # the tiny group keeps its own results: its rate, and its own (insufficient) reference ratio
    assert {g.group for g in evaluation.groups} == {"White", "Black", "Other"}
    ratio = find(evaluation, "selection_rate_ratio_to_reference", "Other")
    assert ratio.status == "insufficient_data"


def test_excluding_leaves_an_attribute_with_one_large_group_insufficient() -> None:
    counts = {("sex", "Female"): group(10, 1), ("sex", "Male"): group(500, 250)}
    config = EngineConfig(min_group_size=30, small_groups="exclude")
    parity = find(evaluate("m", "1h", 0, 3600, counts, config), "demographic_parity_difference")
    assert parity.status == "insufficient_data"
    assert parity.min_group_n == 10


def test_an_unknown_small_groups_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="small_groups"):
        EngineConfig(small_groups="drop")  # type: ignore[arg-type]


def test_audit_takes_the_policy_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:

    rows = [{"prediction": int(i < 300), "race": "White"} for i in range(600)]
    rows += [{"prediction": int(i < 120), "race": "Black"} for i in range(400)]
    rows += [{"prediction": 1, "race": "Other"} for _ in range(12)]
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(row) for row in rows))
    statuses = {}
    for policy in ("gate", "exclude"):
        argv = ["audit", str(path), "--sensitive", "race", "--format", "json"]
        code = main([*argv, "--small-groups", policy])
        assert code == 0
        report = orjson.loads(capsys.readouterr().out)
        (parity,) = [d for d in report["disparities"]
                     if d["metric"] == "demographic_parity_difference"]  # fmt: skip
        statuses[policy] = (parity["status"], round(parity["value"], 9))
    assert statuses == {"gate": ("insufficient_data", 0.7), "exclude": ("breach", 0.2)}
