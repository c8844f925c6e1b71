"""``fairwatch audit`` with a score column: the calibration difference in every output, the
reliability diagram in the HTML report, and the gate on ``calibration_difference``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fairwatch.cli import main


@pytest.fixture(scope="module")
def scored_rows(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4,000 labeled rows; the scores overstate women's outcome rate by 0.2 (less near 0)."""
    rng = np.random.default_rng(11)
    size = 4000
    sex = rng.choice(["Female", "Male"], size)
    race = rng.choice(["Black", "White", "Asian"], size, p=[0.3, 0.6, 0.1])
    score = rng.beta(2, 3, size)
    truth = np.clip(score - 0.2 * (sex == "Female"), 0, 1)
    label = (rng.random(size) < truth).astype(int)
    path = tmp_path_factory.mktemp("audit") / "scored.csv"
    pd.DataFrame({"score": score, "label": label, "sex": sex, "race": race}).to_csv(
        path, index=False
    )
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = main(["audit", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_html_report_draws_a_reliability_diagram_per_attribute(
    scored_rows: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, html, err = run(capsys, scored_rows, "--sensitive", "sex,race", "--format", "html")
    assert code == 0, err
    figures = re.findall(r'<figure class="figure reliability">(.*?)</figure>', html, re.DOTALL)
    assert len(figures) == 2  # sex and race
    sex_figure = figures[1]  # attributes in order: race, sex
    assert sex_figure.startswith("<svg")
    assert "Reliability per group" in sex_figure and "perfectly calibrated" in sex_figure
    assert re.search(r"Female \(\d[\d,]* rows, gap \+0\.1\d\d\)", sex_figure)
    assert re.search(r"Male \(\d[\d,]* rows, gap [+-]0\.0\d\d\)", sex_figure)
    assert "mean predicted score in the bin" in sex_figure
    assert "Calibration gap" in html and "calibration difference" in html
    assert "calibration gap Female +0.1" in html  # the extremes, signed


def test_json_and_table_carry_the_calibration(
    scored_rows: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, scored_rows, "--sensitive", "sex", "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    (disparity,) = [d for d in report["disparities"] if d["metric"] == "calibration_difference"]
    assert disparity["status"] == "breach" and disparity["rate"] == "calibration_gap"
    assert disparity["highest_group"] == "Female" and disparity["lowest_group"] == "Male"
    assert disparity["value"] == pytest.approx(disparity["highest_rate"] - disparity["lowest_rate"])
    for group in report["groups"]:
        assert len(group["reliability"]) == 10
        assert sum(item["n"] for item in group["reliability"]) == group["n_labeled"]
        assert isinstance(group["calibration_gap"], float)
    code, table, err = run(capsys, scored_rows, "--sensitive", "sex", "--format", "table")
    assert code == 0, err
    assert "calibration_difference" in table and "calibration gap" in table


def test_the_gate_fails_on_a_calibration_breach(
    scored_rows: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = run(
        capsys, scored_rows, "--sensitive", "sex", "--fail-on", "calibration_difference"
    )
    assert code == 1
    assert "FAIL      calibration_difference: 1 breach" in err
    code, _out, err = run(
        capsys, scored_rows, "--sensitive", "sex", "--fail-on", "calibration_difference=0.5"
    )
    assert code == 0, err


def test_without_scores_there_is_no_calibration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(12)
    path = tmp_path / "decisions.csv"
    pd.DataFrame(
        {
            "prediction": rng.integers(0, 2, 500),
            "label": rng.integers(0, 2, 500),
            "sex": rng.choice(["Female", "Male"], 500),
        }
    ).to_csv(path, index=False)
    code, html, err = run(capsys, path, "--sensitive", "sex", "--format", "html")
    assert code == 0, err
    assert "figure reliability" not in html and "Calibration gap" not in html
    assert "calibration difference</td>" not in html  # no such disparity row
