"""``fairwatch mitigate`` on UCI Adult and COMPAS: the reported thresholds, applied to the file,
give the reported after-figures exactly, within the tolerance; the curve and the choice hold.

UCI Adult: Becker & Kohavi (1996), UCI Machine Learning Repository, CC BY 4.0.
COMPAS: ProPublica "Machine Bias" analysis data (2016).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fairlearn import metrics as flm
from sklearn.metrics import accuracy_score, balanced_accuracy_score

from tests.fairwatch.mitigate.recompute import (
    as_json,
    decisions,
    metric_value,
    read_scores,
    recomputed,
)

MitigateJson = Callable[..., dict[str, Any]]
CONSTRAINT_METRIC = {
    "demographic_parity": "demographic_parity_difference",
    "equalized_odds": "equalized_odds_difference",
    "true_positive_rate_parity": "equal_opportunity_difference",
}


def check_reproduced(path: Path, report: dict[str, Any]) -> None:
    """Applying the thresholds reproduces every group figure and disparity, intervals too."""
    for side in ("before", "after"):
        again = recomputed(path, report, side)
        assert again["groups"] == as_json(report[side]["groups"]), side
        assert again["disparities"] == as_json(report[side]["disparities"]), side


def check_within_tolerance(report: dict[str, Any]) -> float:
    summary = report["summary"]
    metric = metric_value(report["after"], summary["attribute"], summary["metric"])
    assert metric["value"] is not None
    assert metric["value"] <= summary["tolerance"]
    assert report["after"]["metric"] == metric
    assert report["after"]["disparity"] == metric["value"]
    value: float = metric["value"]
    return value


def check_accuracy(path: Path, report: dict[str, Any]) -> None:
    frame = read_scores(path)
    attribute = report["summary"]["attribute"]
    for side in ("before", "after"):
        prediction = decisions(frame, attribute, report[side]["thresholds"])
        assert report[side]["accuracy"] == pytest.approx(
            accuracy_score(frame["label"], prediction), abs=1e-12
        )
        assert report[side]["balanced_accuracy"] == pytest.approx(
            balanced_accuracy_score(frame["label"], prediction), abs=1e-12
        )


@pytest.mark.parametrize("attribute", ["sex", "race"])
def test_adult_demographic_parity_reproduces_and_meets_the_tolerance(
    adult_file: Path, mitigate_json: MitigateJson, attribute: str
) -> None:
    report = mitigate_json(adult_file, "--sensitive", attribute, "--tolerance", "0.05")
    check_reproduced(adult_file, report)
    value = check_within_tolerance(report)
    check_accuracy(adult_file, report)
    before = metric_value(report["before"], attribute, "demographic_parity_difference")
    assert before["value"] > 0.1 > 0.05 >= value  # the model is unfair on both, and mended
    # every Adult group is large enough: fairlearn's difference over all of them agrees
    frame = read_scores(adult_file)
    prediction = decisions(frame, attribute, report["after"]["thresholds"])
    expected = flm.demographic_parity_difference(
        frame["label"], prediction, sensitive_features=frame[attribute]
    )
    assert value == pytest.approx(expected, abs=1e-12)


def test_adult_equalized_odds_on_race(adult_file: Path, mitigate_json: MitigateJson) -> None:
    report = mitigate_json(adult_file, "--sensitive", "race", "--constraint", "equalized_odds")
    check_reproduced(adult_file, report)
    check_within_tolerance(report)
    # two races have under 30 labeled positives: compared on FPR only, as the engine does
    groups = {group["group"]: group for group in report["groups"]}
    assert groups["Other"]["labeled_positives"] < 30 and groups["Other"]["searched"]


def test_adult_curve_is_exact_and_marks_pareto_points(
    adult_file: Path, mitigate_json: MitigateJson
) -> None:
    report = mitigate_json(adult_file, "--sensitive", "sex", "--curve-points", "11")
    curve = report["curve"]
    assert curve[0]["tolerance"] == 0.0
    assert curve[-1]["tolerance"] == pytest.approx(curve[-1]["disparity"])  # unconstrained
    assert [p["tolerance"] for p in curve] == sorted(p["tolerance"] for p in curve)
    assert 0.1 in [p["tolerance"] for p in curve]
    objectives = [p["objective"] for p in curve]
    assert objectives == sorted(objectives)  # a looser tolerance never costs accuracy
    for point in curve:
        assert point["disparity"] <= point["tolerance"] or point is curve[-1]
    for point in curve:
        dominated = any(
            other["disparity"] <= point["disparity"]
            and other["objective"] >= point["objective"]
            and (other["disparity"], other["objective"]) != (point["disparity"], point["objective"])
            for other in curve
        )
        assert point["pareto"] == (not dominated)
    (chosen,) = [p for p in curve if p["chosen"]]
    assert chosen["tolerance"] == 0.1
    assert chosen["thresholds"] == report["after"]["thresholds"]


def test_adult_min_accuracy_chooses_the_fairest_pareto_point(
    adult_file: Path, mitigate_json: MitigateJson
) -> None:
    floor = 0.85
    report = mitigate_json(adult_file, "--sensitive", "sex", "--min-accuracy", floor)
    assert report["summary"]["chosen_by"] == "min_accuracy"
    qualifying = [p for p in report["curve"] if p["pareto"] and p["accuracy"] >= floor]
    (chosen,) = [p for p in report["curve"] if p["chosen"]]
    assert chosen in qualifying
    assert chosen["disparity"] == min(p["disparity"] for p in qualifying)
    assert report["after"]["accuracy"] == chosen["accuracy"] >= floor
    check_reproduced(adult_file, report)


def test_adult_unreachable_min_accuracy_exits_1(adult_file: Path, run: Any) -> None:
    code, out, err = run(adult_file, "--sensitive", "sex", "--min-accuracy", "0.95")
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "0.95" in err and "the most accurate is" in err


def test_adult_fairlearn_reference_never_beats_the_exact_search(
    adult_file: Path, mitigate_json: MitigateJson
) -> None:
    for constraint in ("demographic_parity", "true_positive_rate_parity"):
        report = mitigate_json(
            adult_file, "--sensitive", "race", "--constraint", constraint, "--tolerance", "0.05"
        )
        reference = report["reference"]
        assert reference["method"] == "fairlearn.postprocessing.ThresholdOptimizer"
        assert reference["expected"]["disparity"] <= 0.05 + 1e-9
        derandomised = reference["derandomised"]
        if derandomised["meets_tolerance"]:  # then it is one of the choices the search weighed
            assert report["after"]["objective"] >= derandomised["objective"]


@pytest.mark.parametrize("constraint", ["demographic_parity", "equalized_odds"])
def test_compas_race(compas_file: Path, mitigate_json: MitigateJson, constraint: str) -> None:
    report = mitigate_json(
        compas_file, "--sensitive", "race", "--constraint", constraint, "--no-reference"
    )
    check_reproduced(compas_file, report)
    value = check_within_tolerance(report)
    check_accuracy(compas_file, report)
    before = metric_value(report["before"], "race", CONSTRAINT_METRIC[constraint])
    assert before["value"] > 0.3  # decile >= 5 is far from parity between races
    assert value <= 0.1
    groups = {group["group"]: group for group in report["groups"]}
    # too few rows (18) for selection rates; too few of either label (9/23, 10/8) for TPR, FPR
    kept = {"demographic_parity": ["Native American"]}.get(constraint, ["Asian", "Native American"])
    assert [name for name, group in groups.items() if not group["searched"]] == sorted(kept)
    for small in kept:
        assert report["after"]["thresholds"][small] == 0.5
    # decile scores: every threshold is a decile / 10 (or "nobody")
    for threshold in report["after"]["thresholds"].values():
        assert threshold > 1 or round(threshold * 10) == pytest.approx(threshold * 10)


def test_compas_intersection_of_race_and_sex(
    compas_file: Path, mitigate_json: MitigateJson
) -> None:
    report = mitigate_json(
        compas_file, "--sensitive", "sex,race", "--no-reference", "--curve-points", "5"
    )
    assert report["summary"]["attribute"] == "race&sex"
    assert "African-American&Male" in report["after"]["thresholds"]
    check_reproduced(compas_file, report)
    check_within_tolerance(report)


def test_the_same_file_gives_the_same_report(adult_file: Path, mitigate_json: MitigateJson) -> None:
    options = ("--sensitive", "race", "--constraint", "equalized_odds", "--curve-points", "5")
    first, second = mitigate_json(adult_file, *options), mitigate_json(adult_file, *options)
    assert first == second
    assert np.isfinite(list(first["after"]["thresholds"].values())).all()
