"""``fairwatch mitigate`` through the CLI: JSON shape, table and HTML, one-line errors, exits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from fairwatch.cli import build_parser
from monitor.engine.thresholds.candidates import SELECT_NONE

SUMMARY_KEYS = {
    "source", "rows", "labeled_rows", "attribute", "constraint", "metric", "objective",
    "tolerance", "min_accuracy", "chosen_by", "chosen_tolerance", "decision_rule",
    "baseline_threshold", "min_group_size", "ci_level",
}  # fmt: skip
SIDE_KEYS = {
    "thresholds", "objective", "accuracy", "balanced_accuracy", "disparity", "metric", "groups",
    "disparities",
}  # fmt: skip
POINT_KEYS = {
    "tolerance", "objective", "accuracy", "balanced_accuracy", "disparity", "pareto", "chosen",
    "thresholds",
}  # fmt: skip
GROUP_KEYS = {
    "group", "n", "labeled_positives", "labeled_negatives", "searched", "threshold_before",
    "threshold_after",
}  # fmt: skip


@pytest.fixture(scope="module")
def small_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """600 rows, two groups with shifted scores: a clear demographic parity gap."""
    rng = np.random.default_rng(11)
    rows = 600
    group = rng.choice(["a", "b"], rows)
    label = (rng.random(rows) < 0.4).astype(int)
    score = np.clip(0.3 * label + 0.2 * (group == "a") + 0.5 * rng.random(rows), 0, 1)
    path = tmp_path_factory.mktemp("mitigate") / "scores.jsonl"
    frame = pd.DataFrame({"score": np.round(score, 4), "label": label, "group": group})
    frame.to_json(path, orient="records", lines=True)
    return path


def test_json_shape(small_file: Path, mitigate_json: Any) -> None:
    report = mitigate_json(small_file, "--sensitive", "group", "--curve-points", "6")
    assert set(report) == {"summary", "groups", "before", "after", "curve", "reference"}
    assert set(report["summary"]) == SUMMARY_KEYS
    assert report["summary"]["decision_rule"] == "score >= threshold"
    assert report["summary"]["tolerance"] == 0.1 and report["summary"]["chosen_by"] == "tolerance"
    for side in ("before", "after"):
        assert set(report[side]) == SIDE_KEYS
        assert set(report[side]["thresholds"]) == {"a", "b"}
        metric = report[side]["metric"]
        assert metric["metric"] == "demographic_parity_difference"
        assert metric["ci"][0] <= metric["value"] <= metric["ci"][1]
    assert report["before"]["thresholds"] == {"a": 0.5, "b": 0.5}
    for group in report["groups"]:
        assert set(group) == GROUP_KEYS
    assert len(report["curve"]) == 7  # six tolerances and the requested 0.1
    for point in report["curve"]:
        assert set(point) == POINT_KEYS
    assert sum(point["chosen"] for point in report["curve"]) == 1
    reference = report["reference"]
    assert set(reference) == {"method", "constraint", "tolerance", "expected", "derandomised"}
    assert reference["derandomised"]["meets_tolerance"] in (True, False)


def test_the_table_names_thresholds_and_the_curve(small_file: Path, run: Any) -> None:
    code, out, err = run(small_file, "--sensitive", "group", "--no-reference")
    assert code == 0, err
    for text in (
        "thresholds (group)",
        "demographic_parity_difference",
        "trade-off curve",
        "chosen",
    ):
        assert text in out


def test_html_is_one_page_with_the_curve(small_file: Path, run: Any, tmp_path: Path) -> None:
    output = tmp_path / "report.html"
    code, out, err = run(
        small_file, "--sensitive", "group", "--constraint", "equalized_odds", "--format", "html",
        "-o", output,
    )  # fmt: skip
    assert code == 0 and out == "", err
    page = output.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert page.count("<svg") == 2  # the trade-off curve and the rates before → after
    for text in (
        "Pareto front",
        "at decision time",
        "equalized odds difference",
        "ThresholdOptimizer",
    ):
        assert text in page
    for fetched in ("<link", "<script", "src=", "@import"):  # self-contained: nothing fetched
        assert fetched not in page


def test_the_command_is_listed() -> None:
    assert "mitigate" in build_parser().format_help()


def write(tmp_path: Path, rows: list[dict[str, Any]], name: str = "rows.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    return path


def rows_of(count: int = 80, **override: Any) -> list[dict[str, Any]]:
    rows = [
        {"score": (index % 10) / 10, "label": index % 2, "sex": "F" if index % 3 else "M"}
        for index in range(count)
    ]
    for row in rows[:3]:
        row.update(override)
    return rows


@pytest.mark.parametrize(
    ("rows", "options", "named"),
    [
        ([{"score": 0.2, "sex": "F"}], (), "'label'"),
        ([{"label": 1, "sex": "F"}], (), "'score'"),
        (rows_of(label="maybe"), (), "'label'"),
        (rows_of(score=1.7), (), "'score'"),
        (rows_of(score=None), (), "'score'"),
        (rows_of(), ("--sensitive", "race"), "race"),
        (rows_of(), ("--tolerance", "2"), "--tolerance"),
        (rows_of(), ("--min-accuracy", "-1"), "--min-accuracy"),
        (rows_of(), ("--min-group-size", "1000"), "--min-group-size"),
        ([{**row, "label": 1} for row in rows_of()], (), "'label'"),
    ],
    ids=[
        "no-label", "no-score", "label-not-binary", "score-out-of-range", "score-empty",
        "unknown-attribute", "tolerance-out-of-range", "min-accuracy-out-of-range",
        "groups-too-small", "one-label-only",
    ],
)  # fmt: skip
def test_bad_input_is_one_line_naming_the_problem(
    tmp_path: Path, run: Any, rows: list[dict[str, Any]], options: tuple[str, ...], named: str
) -> None:
    path = write(tmp_path, rows)
    arguments = ["--sensitive", "sex", *options] if "--sensitive" not in options else options
    code, out, err = run(path, *arguments)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("fairwatch mitigate: error: ")
    assert named in err
    assert "prediction" not in err  # the decisions are the thresholds': no such column is read


def test_a_missing_file_is_bad_input(tmp_path: Path, run: Any) -> None:
    code, _out, err = run(tmp_path / "absent.csv", "--sensitive", "sex")
    assert code == 2 and "no such file" in err


def test_select_nobody_is_written_above_every_score(tmp_path: Path, mitigate_json: Any) -> None:
    """37 and 41 rows: equal selection rates only by selecting nobody (or everybody); most
    rows are negatives, so nobody it is, written as a threshold above every score."""
    rows = [
        {"score": round(0.2 + 0.015 * index, 3), "label": int(index % 4 == 0), "sex": sex}
        for sex, count in (("F", 37), ("M", 41))
        for index in range(count)
    ]
    report = mitigate_json(write(tmp_path, rows), "--sensitive", "sex", "--tolerance", "0")
    assert report["after"]["disparity"] == 0.0
    assert report["after"]["thresholds"] == {"F": SELECT_NONE, "M": SELECT_NONE}
    assert SELECT_NONE > 1.0
