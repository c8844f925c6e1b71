"""``fairwatch audit`` through the CLI entry point: formats, outputs, gate and bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fairlearn import metrics as flm

from fairwatch.cli import main
from tests.paths import DATA

EVENTS = DATA / "audit_events.jsonl"
GROUP_KEYS = {
    "attribute", "group", "n", "n_labeled", "selection_rate", "tpr", "fpr", "fnr", "tnr", "ppv",
    "npv", "accuracy", "base_rate", "selection_rate_ci", "tpr_ci", "fpr_ci", "label_coverage",
}  # fmt: skip
DISPARITY_KEYS = {"attribute", "metric", "value", "ci", "min_group_n", "status", "threshold"}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["audit", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def audit_json(capsys, path: Path, *extra: str) -> dict:
    code, out, err = run(capsys, path, "--sensitive", "sex,race", "--format", "json", *extra)
    assert code == 0, err
    return json.loads(out)


def flat_events() -> pd.DataFrame:
    frame = pd.read_json(EVENTS, lines=True)
    sensitive = pd.DataFrame(frame.pop("sensitive").tolist())
    return pd.concat([frame, sensitive], axis=1)


def test_json_shape_and_values_equal_fairlearn(capsys):
    report = audit_json(capsys, EVENTS)
    assert set(report) == {"groups", "disparities", "summary"}
    for group in report["groups"]:
        assert set(group) >= GROUP_KEYS
        low, high = group["selection_rate_ci"]
        assert low <= group["selection_rate"] <= high
    for disparity in report["disparities"]:
        assert set(disparity) >= DISPARITY_KEYS
        assert disparity["status"] in {"breach", "undecided", "ok", "not_computable"}
    assert report["summary"]["rows"] == 400 and report["summary"]["labeled_rows"] == 360
    frame = flat_events()
    labeled = frame[frame["label"].notna()]
    by_metric = {
        (d["attribute"], d["metric"]): d for d in report["disparities"] if d["group"] is None
    }
    expected_dp = flm.demographic_parity_difference(
        frame["label"].fillna(0), frame["prediction"], sensitive_features=frame["sex"]
    )
    assert by_metric[("sex", "demographic_parity_difference")]["value"] == pytest.approx(
        expected_dp, abs=1e-9
    )
    expected_eo = flm.equalized_odds_difference(
        labeled["label"].astype(int), labeled["prediction"], sensitive_features=labeled["sex"]
    )
    assert by_metric[("sex", "equalized_odds_difference")]["value"] == pytest.approx(
        expected_eo, abs=1e-9
    )
    dp = by_metric[("sex", "demographic_parity_difference")]
    assert dp["status"] == "breach" and dp["threshold"] == 0.1
    assert dp["ci"][0] <= dp["value"] <= dp["ci"][1]
    # the Asian group has 14 rows: it is left out, Black and White are compared
    race = by_metric[("race", "demographic_parity_difference")]
    assert race["status"] != "not_computable"
    assert race["value"] == pytest.approx(
        frame[frame["race"] == "White"]["prediction"].mean()
        - frame[frame["race"] == "Black"]["prediction"].mean(),
        abs=1e-9,
    )


def test_jsonl_csv_and_parquet_give_the_same_report(capsys, tmp_path):
    frame = flat_events()
    csv_path, parquet_path = tmp_path / "events.csv", tmp_path / "events.parquet"
    frame.to_csv(csv_path, index=False)
    frame.assign(label=frame["label"].astype("Int64")).to_parquet(parquet_path)
    reports = [audit_json(capsys, path) for path in (EVENTS, csv_path, parquet_path)]
    for report in reports[1:]:
        assert report["groups"] == reports[0]["groups"]
        assert report["disparities"] == reports[0]["disparities"]


def test_score_only_rows_are_decided_by_the_threshold(capsys, tmp_path):
    frame = flat_events().drop(columns=["prediction"])
    path = tmp_path / "scores.csv"
    frame.to_csv(path, index=False)
    strict = audit_json(capsys, path, "--threshold", "0.7")
    selected = {(g["attribute"], g["group"]): g["predicted_positive"] for g in strict["groups"]}
    assert selected[("sex", "Female")] == int(
        ((frame["sex"] == "Female") & (frame["score"] >= 0.7)).sum()
    )
    # scores give a calibration error per group
    assert all(g["ece"] is not None for g in strict["groups"] if g["n_labeled"])


def test_reference_group_and_intersections(capsys):
    report = audit_json(capsys, EVENTS, "--reference", "sex=Female", "--intersect", "race,sex")
    ratios = [
        d for d in report["disparities"] if d["group"] is not None and d["attribute"] == "sex"
    ]
    assert [(d["group"], d["reference_group"], d["value"]) for d in ratios] == [
        ("Female", "Female", 1.0),  # the reference's own ratio
        ("Male", "Female", pytest.approx(0.592 / 0.362, abs=2e-3)),
    ]
    intersections = {g["group"] for g in report["groups"] if g["attribute"] == "race&sex"}
    assert "Black&Female" in intersections and "White&Male" in intersections


def test_fail_on_gate(capsys):
    code, out, err = run(
        capsys, EVENTS, "--sensitive", "sex", "--fail-on", "demographic_parity_difference"
    )
    assert code == 1
    assert "fairness gate failed" in err
    assert "sex: demographic_parity_difference = 0.2" in err and "above threshold 0.1" in err
    assert "BREACH" in out  # the report is still printed
    code, _out, err = run(
        capsys, EVENTS, "--sensitive", "sex", "--fail-on", "demographic_parity_difference=0.5"
    )
    assert code == 0, err
    code, _out, err = run(capsys, EVENTS, "--sensitive", "race", "--fail-on", "all")
    # no race disparity breaches, but some cannot be judged: that fails the gate unless allowed
    assert code == 1 and "UNDECIDED all" in " ".join(err.split())
    code, _out, _err = run(
        capsys, EVENTS, "--sensitive", "race", "--fail-on", "all", "--allow-insufficient"
    )
    assert code == 0
    code, _out, err = run(capsys, EVENTS, "--sensitive", "sex", "--fail-on", "parity_of_vibes")
    assert code == 2 and "unknown metric 'parity_of_vibes'" in err


def test_confident_mode_needs_the_whole_interval_beyond_the_threshold(capsys):
    report = audit_json(capsys, EVENTS, "--mode", "confident")
    statuses = {(d["attribute"], d["metric"]): d for d in report["disparities"] if not d["group"]}
    dp = statuses[("sex", "demographic_parity_difference")]
    assert dp["mode"] == "confident"
    low, high = dp["ci"]
    assert dp["status"] == ("breach" if low > 0.1 else "ok" if high <= 0.1 else "undecided")
    point = audit_json(capsys, EVENTS, "--mode", "point")
    assert {d["status"] for d in point["disparities"]} <= {"breach", "ok", "not_computable"}


def test_table_output_is_readable(capsys):
    code, out, _err = run(capsys, EVENTS, "--sensitive", "sex,race")
    assert code == 0
    assert "400 rows, 360 labeled" in out
    for text in ("Female", "Male", "selection rate", "demographic_parity_difference", "BREACH"):
        assert text in out
    assert "undecided" in out and "not computable" in out  # race: Asian's ratio is not judged


def test_html_report_is_self_contained(capsys, tmp_path):
    output = tmp_path / "report.html"
    code, _out, err = run(
        capsys, EVENTS, "--sensitive", "sex,race", "--format", "html", "-o", output,
        "--fail-on", "sex:demographic_parity_difference",
    )  # fmt: skip
    assert code == 1, err
    page = output.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert page.count("<svg") >= 3  # summary, per-attribute rates, reference ratios
    for forbidden in ("<script", "<link", "src=", "@import"):
        assert forbidden not in page
    assert not re.search(r"url\((?!#)", page)  # only references inside the page
    assert "Fairness gate failed" in page and "Black" in page and "badge breach" in page


@pytest.mark.parametrize(
    ("content", "name", "extra", "message"),
    [
        ("", "empty.jsonl", (), "empty"),
        ("", "empty.csv", (), "empty"),
        ("prediction,label,sex\n", "header_only.csv", (), "no rows"),
        (
            "prediction,label\n1,0\n",
            "no_attr.csv",
            (),
            "missing sensitive attribute column(s): sex",
        ),
        ("label,sex\n1,F\n", "no_prediction.csv", (), "need 'prediction'"),
        ("prediction,label,sex\n1,2,F\n0,1,M\n", "labels.csv", (), "'label' must be binary"),
        ("prediction,label,sex\n1,yes,F\n0,maybe,M\n", "words.csv", (), "found 'maybe'"),
        ("prediction,label,sex\n3,1,F\n", "prediction.csv", (), "'prediction' must be binary"),
        ("prediction,score,sex\n1,1.5,F\n", "score.csv", (), "'score' must hold numbers"),
        ('{"prediction": 1, "sex": "F"}\n{oops\n', "bad.jsonl", (), "bad.jsonl:2: invalid JSON"),
        ("[1, 2]\n", "array.jsonl", (), "must be a JSON object"),
        ("a\tb\n", "rows.txt", (), "unknown file format .txt"),
        ("prediction,sex\n1,F\n", "rows.csv", ("--reference", "sex"), "ATTR=GROUP"),
        ("prediction,sex\n1,F\n", "rows.csv", ("--intersect", "sex"), "two or more"),
        ("prediction,sex\n1,F\n", "rows.csv", ("--ci-level", "2"), "ci_level"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(capsys, tmp_path, content, name, extra, message):
    path = tmp_path / name
    path.write_text(content)
    code, out, err = run(capsys, path, "--sensitive", "sex", *extra)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("fairwatch audit: error:")
    assert message in lines[0]


def test_missing_file_and_parquet_that_is_not_parquet(capsys, tmp_path):
    code, _out, err = run(capsys, tmp_path / "nope.csv", "--sensitive", "sex")
    assert code == 2 and "no such file" in err
    fake = tmp_path / "rows.parquet"
    fake.write_bytes(b"not parquet at all")
    code, _out, err = run(capsys, fake, "--sensitive", "sex")
    assert code == 2 and "cannot read as parquet" in err and len(err.strip().splitlines()) == 1


def test_boolean_labels_and_predictions_are_accepted(capsys, tmp_path):
    path = tmp_path / "bools.jsonl"
    rows = [
        {"prediction": bool(i % 2), "label": [True, False, None][i % 3], "sex": "FM"[i % 2]}
        for i in range(60)
    ]
    path.write_text("\n".join(json.dumps(row) for row in rows))
    report = audit_json(capsys, path, "--sensitive", "sex")  # second --sensitive wins
    groups = {g["group"]: g for g in report["groups"]}
    assert groups["M"]["selection_rate"] == 1.0 and groups["F"]["selection_rate"] == 0.0
    assert groups["F"]["n_labeled"] == 20
    assert np.isclose(groups["F"]["label_coverage"], 20 / 30)


def test_table_and_html_name_the_extremes_and_the_groups_left_out(capsys, tmp_path):
    code, out, _err = run(capsys, EVENTS, "--sensitive", "sex,race")
    assert code == 0
    assert "highest vs lowest" in out and "left out (small)" in out
    assert "FPR Male 0.402 vs Female 0.049" in out  # sex's equalized odds is about the FPR
    race_rows = [line for line in out.splitlines() if line.startswith("│ race")]
    assert race_rows and all("Asian" in line for line in race_rows if "difference" in line)
    assert "the reference" in out
    output = tmp_path / "report.html"
    assert run(capsys, EVENTS, "--sensitive", "sex,race", "--format", "html", "-o", output)[0] == 0
    page = output.read_text()
    assert "Highest vs lowest" in page and "FPR Male 0.402 vs Female 0.049" in page
    assert "under 30 for selection rate" in page  # Asian: 14 rows
