"""The CI gate of ``fairwatch audit``: a PASS, FAIL or UNDECIDED line per rule, a rule that cannot
be judged fails unless allowed, and the accuracy and group-size checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fairwatch.audit.fail_on import (
    GateResult,
    Rule,
    RuleResult,
    check_min_accuracy,
    check_min_group_size,
    judge_rule,
)
from fairwatch.cli import main
from monitor.engine.results import Disparity, GroupResult
from tests.fairwatch.audit.test_compas_verdicts import compas_like
from tests.paths import DATA

EVENTS = DATA / "audit_events.jsonl"
VERDICTS = ("PASS", "FAIL", "UNDECIDED")


def disparity(status: str, value: float | None = 0.2, attribute: str = "race") -> Disparity:
    return Disparity(
        attribute, "equalized_odds_difference", value, 0.05, 0.3, 100, status, 0.1,  # type: ignore[arg-type]
        mode="confident",
    )  # fmt: skip


RULE = Rule("equalized_odds_difference", text="equalized_odds_difference")

# (intent, statuses of the matched disparities, verdict)
RULE_CASES = [
    ("a breach fails the rule", ["breach", "ok"], "FAIL"),
    ("a breach wins over what cannot be judged", ["breach", "undecided"], "FAIL"),
    ("an interval across the threshold cannot be judged", ["ok", "undecided"], "UNDECIDED"),
    ("a metric without two groups cannot be judged", ["not_computable"], "UNDECIDED"),
    ("every disparity ok passes", ["ok", "ok"], "PASS"),
    ("a rule matching nothing cannot be judged", [], "UNDECIDED"),
]


@pytest.mark.parametrize(
    ("statuses", "verdict"), [c[1:] for c in RULE_CASES], ids=[c[0] for c in RULE_CASES]
)
def test_rule_verdicts(statuses: list[str], verdict: str) -> None:
    matched = [disparity(status, attribute=f"a{i}") for i, status in enumerate(statuses)]
    assert judge_rule(RULE, matched).verdict == verdict


def test_undecided_fails_the_gate_unless_allowed() -> None:
    undecided = (RuleResult("r", "UNDECIDED", "1 undecided"), RuleResult("s", "PASS", "1 ok"))
    assert GateResult(undecided).failed
    assert not GateResult(undecided, allow_insufficient=True).failed
    failed = (RuleResult("r", "FAIL", "1 breach"),)
    assert GateResult(failed, allow_insufficient=True).failed


def group(name: str, n: int, right: int, labeled: int, attribute: str = "race") -> GroupResult:
    accuracy = right / labeled if labeled else None
    interval = None
    if labeled:
        spread = 0.5 / labeled**0.5
        interval = (max(accuracy - spread, 0.0), min(accuracy + spread, 1.0))  # type: ignore[operator]
    return GroupResult(
        attribute, name, n, labeled, 0, right, 0, 0, labeled - right,
        rates={"accuracy": accuracy}, intervals={"accuracy": interval},
    )  # fmt: skip


def test_min_group_size_names_every_small_group() -> None:
    groups = [group("A", 500, 400, 500), group("B", 18, 10, 18), group("C", 29, 20, 29)]
    result = check_min_group_size(groups, 30)
    assert result.verdict == "FAIL"
    assert result.reasons == ("race: B has 18 rows (< 30)", "race: C has 29 rows (< 30)")
    assert check_min_group_size(groups, 18).verdict == "PASS"


def test_min_accuracy_judges_overall_and_groups_with_enough_labels() -> None:
    groups = [group("A", 1000, 900, 1000), group("B", 1000, 700, 1000), group("C", 10, 0, 10)]
    low = check_min_accuracy(groups, 0.75, "confident", 30, 0.95)
    assert low.verdict == "FAIL"  # B: 0.70, its interval wholly below 0.75
    assert any("race B: accuracy 0.700" in reason for reason in low.reasons)
    # C (10 labeled rows, accuracy 0) is named but not judged
    assert "not judged (too few labeled rows): race C (10 labeled)" in low.reasons
    assert check_min_accuracy(groups, 0.6, "confident", 30, 0.95).verdict == "PASS"
    edge = check_min_accuracy(groups, 0.71, "confident", 30, 0.95)
    assert edge.verdict == "UNDECIDED"  # B's interval straddles 0.71
    assert check_min_accuracy(groups, 0.71, "point", 30, 0.95).verdict == "FAIL"
    unlabeled = [group("A", 100, 0, 0)]
    assert check_min_accuracy(unlabeled, 0.5, "confident", 30, 0.95).verdict == "UNDECIDED"


@pytest.fixture(scope="module")
def compas_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gate") / "compas.csv"
    compas_like().to_csv(path, index=False)
    return path


def gate(capsys: pytest.CaptureFixture[str], path: Path, *argv: str) -> tuple[int, list[str]]:
    code = main(["audit", str(path), "--sensitive", "sex,race", "--format", "json", *argv])
    captured = capsys.readouterr()
    verdict_lines = [
        line.strip() for line in captured.err.splitlines() if line.strip().startswith(VERDICTS)
    ]
    return code, verdict_lines


def test_one_verdict_line_per_rule(capsys: pytest.CaptureFixture[str], compas_csv: Path) -> None:
    code, lines = gate(
        capsys, compas_csv, "--fail-on",
        "race:equalized_odds_difference,sex:demographic_parity_difference,"
        "demographic_parity_difference=0.1",
    )  # fmt: skip
    assert code == 1
    assert [line.split()[:2] for line in lines] == [
        ["FAIL", "race:equalized_odds_difference:"],
        ["PASS", "sex:demographic_parity_difference:"],
        ["FAIL", "demographic_parity_difference=0.1:"],
    ]


def test_a_metric_that_cannot_be_judged_fails_unless_allowed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # the test events: race compares Black and White (Asian has 14 rows) and the intervals
    # straddle the thresholds
    argv = ["audit", str(EVENTS), "--sensitive", "race", "--fail-on", "race:accuracy_difference"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "UNDECIDED race:accuracy_difference" in " ".join(err.split())
    assert main([*argv, "--allow-insufficient"]) == 0
    assert "(undecided allowed)" in capsys.readouterr().err


def test_a_not_computable_metric_fails_unless_allowed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    frame = compas_like()
    path = tmp_path / "two.csv"
    frame[frame["race"].isin(["Caucasian", "Native American"])].to_csv(path, index=False)
    argv = ["audit", str(path), "--sensitive", "race", "--fail-on", "equalized_odds_difference"]
    assert main(argv) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "UNDECIDED equalized_odds_difference: 1 not computable" in err
    assert "left out (too few rows): Native American" in err
    assert main([*argv, "--allow-insufficient"]) == 0


def test_min_group_size_fails_naming_the_group(
    capsys: pytest.CaptureFixture[str], compas_csv: Path
) -> None:
    code, lines = gate(capsys, compas_csv, "--min-group-size", "30")
    assert code == 1 and lines == ["FAIL      min-group-size 30: 1 of 8 group(s) below 30 rows"]
    argv = ["audit", str(compas_csv), "--sensitive", "sex,race"]
    assert main([*argv, "--min-group-size", "30"]) == 1
    assert "race: Native American has 18 rows (< 30)" in capsys.readouterr().err
    # without the flag the minimum is the engine's default and nothing is checked
    assert main([*argv, "--format", "json"]) == 0
    assert capsys.readouterr().err == ""


def test_min_accuracy(capsys: pytest.CaptureFixture[str], compas_csv: Path) -> None:
    code, lines = gate(capsys, compas_csv, "--min-accuracy", "0.6")
    assert code == 0 and lines[0].startswith("PASS      min-accuracy 0.6: overall accuracy 0.654")
    code, lines = gate(capsys, compas_csv, "--min-accuracy", "0.7")
    assert code == 1 and lines[0].startswith("FAIL")
    assert main(["audit", str(compas_csv), "--sensitive", "race", "--min-accuracy", "2"]) == 2
    assert "--min-accuracy must lie in [0, 1]" in capsys.readouterr().err


def test_a_rule_on_an_attribute_not_audited_is_an_error(
    capsys: pytest.CaptureFixture[str], compas_csv: Path
) -> None:
    argv = ["audit", str(compas_csv), "--sensitive", "sex", "--fail-on", "rac:equalized_odds_ratio"]
    assert main(argv) == 2
    assert "names attribute 'rac', which is not audited; audited: sex" in capsys.readouterr().err


def test_reports_carry_every_verdict(
    capsys: pytest.CaptureFixture[str], compas_csv: Path, tmp_path: Path
) -> None:
    argv = ["--fail-on", "race:equalized_odds_difference", "--min-accuracy", "0.6"]
    main(["audit", str(compas_csv), "--sensitive", "race", "--format", "json", *argv])
    report = json.loads(capsys.readouterr().out)
    assert report["summary"]["gate"]["passed"] is False
    assert [(r["rule"], r["verdict"]) for r in report["summary"]["gate"]["rules"]] == [
        ("race:equalized_odds_difference", "FAIL"), ("min-accuracy 0.6", "PASS"),
    ]  # fmt: skip
    assert report["summary"]["gate_failures"][0].startswith("FAIL")
    page = tmp_path / "report.html"
    main(["audit", str(compas_csv), "--sensitive", "race", "--format", "html", "-o", str(page),
          *argv])  # fmt: skip
    html = page.read_text()
    assert '<span class="badge breach">FAIL</span>' in html
    assert '<span class="badge ok">PASS</span>' in html
