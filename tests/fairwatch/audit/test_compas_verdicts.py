"""The COMPAS finding comes out as breaches, with its extremes, in the default settings.

The rows are built here with COMPAS's real cell counts (ProPublica's two-year data, 7,214 rows,
prediction = decile_score >= 5, label = two_year_recid): each (race, sex) cell has the real
numbers of true/false positives and negatives, so every group size and rate is COMPAS's. Two
race groups are small: Native American (18 rows) and Asian (32 rows, 9 labeled positives).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fairwatch.cli import main
from tests.datasets import compas_audit_rows

# (race, sex, tp, fp, tn, fn)
CELLS = [
    ("African-American", "Female", 173, 164, 241, 74),
    ("African-American", "Male", 1196, 641, 749, 458),
    ("Asian", "Female", 0, 0, 1, 1),
    ("Asian", "Male", 6, 2, 20, 2),
    ("Caucasian", "Female", 113, 111, 257, 86),
    ("Caucasian", "Male", 392, 238, 882, 375),
    ("Hispanic", "Female", 9, 7, 63, 24),
    ("Hispanic", "Male", 94, 80, 255, 105),
    ("Native American", "Female", 3, 0, 1, 0),
    ("Native American", "Male", 6, 3, 4, 1),
    ("Other", "Female", 5, 6, 46, 10),
    ("Other", "Male", 38, 30, 162, 80),
]


def compas_like() -> pd.DataFrame:
    parts = []
    for race, sex, tp, fp, tn, fn in CELLS:
        prediction = np.repeat([1, 1, 0, 0], [tp, fp, tn, fn])
        label = np.repeat([1, 0, 0, 1], [tp, fp, tn, fn])
        parts.append(
            pd.DataFrame({"race": race, "sex": sex, "prediction": prediction, "label": label})
        )
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def compas_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("compas") / "compas.csv"
    compas_like().to_csv(path, index=False)
    return path


def audit(capsys: pytest.CaptureFixture[str], path: Path, *extra: str) -> tuple[int, dict]:
    code = main(["audit", str(path), "--sensitive", "sex,race", "--format", "json", *extra])
    return code, json.loads(capsys.readouterr().out)


def find(report: dict, attribute: str, metric: str, group: str | None = None) -> dict:
    (match,) = [
        d
        for d in report["disparities"]
        if d["attribute"] == attribute and d["metric"] == metric and d["group"] == group
    ]
    return match


def test_the_frame_has_compas_figures() -> None:
    frame = compas_like()
    assert len(frame) == 7214
    sizes = frame["race"].value_counts()
    assert (sizes["Native American"], sizes["Asian"]) == (18, 32)
    black = frame[frame["race"] == "African-American"]
    white = frame[frame["race"] == "Caucasian"]
    fpr = [group[group["label"] == 0]["prediction"].mean() for group in (black, white)]
    assert fpr == pytest.approx([0.448, 0.235], abs=5e-4)


@pytest.mark.parametrize("extra", [(), ("--mode", "point")], ids=["default", "point"])
def test_race_equalized_odds_and_parity_breach_by_default(
    capsys: pytest.CaptureFixture[str], compas_csv: Path, extra: tuple[str, ...]
) -> None:
    code, report = audit(capsys, compas_csv, *extra)
    assert code == 0
    odds = find(report, "race", "equalized_odds_difference")
    assert odds["status"] == "breach"
    assert odds["ci"][0] > 0.1
    # Asian (9 labeled positives, 23 negatives) and Native American (18 rows) are left out
    assert odds["small_groups"] == ["Asian", "Native American"]
    # the widest gap among the groups with enough data: TPR, African-American vs Other
    assert odds["rate"] == "tpr"
    assert (odds["highest_group"], odds["lowest_group"]) == ("African-American", "Other")
    assert odds["highest_rate"] == pytest.approx(1369 / 1901)
    assert odds["value"] == pytest.approx(1369 / 1901 - 43 / 133)
    parity = find(report, "race", "demographic_parity_difference")
    assert parity["status"] == "breach" and parity["ci"][0] > 0.1
    assert parity["small_groups"] == ["Native American"]  # Asian has 32 predictions: enough


def test_the_textbook_pair_african_american_and_caucasian(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    frame = compas_like()
    path = tmp_path / "pair.csv"
    frame[frame["race"].isin(["African-American", "Caucasian"])].to_csv(path, index=False)
    code, report = audit(capsys, path)
    assert code == 0
    odds = find(report, "race", "equalized_odds_difference")
    assert odds["status"] == "breach"
    assert odds["rate"] == "fpr"  # the FPR gap (0.214) is wider than the TPR gap (0.197)
    assert (odds["highest_group"], odds["lowest_group"]) == ("African-American", "Caucasian")
    assert (odds["highest_rate"], odds["lowest_rate"]) == pytest.approx((0.4485, 0.2345), abs=5e-4)
    assert odds["value"] == pytest.approx(0.214, abs=5e-4)
    low, high = odds["ci"]
    assert 0.15 < low < 0.214 < high < 0.28


def test_the_four_fifths_rule_uses_the_favourable_outcome(
    capsys: pytest.CaptureFixture[str], compas_csv: Path
) -> None:
    # COMPAS's prediction 1 is "high risk": the favourable outcome is 0
    code, report = audit(capsys, compas_csv, "--favourable-prediction", "0")
    assert code == 0
    black = find(report, "race", "selection_rate_ratio_to_reference", "African-American")
    # the reference is the most favoured group: Other, 79% rated low risk
    assert black["reference_group"] == "Other"
    assert black["rate"] == "favourable_rate"
    assert black["value"] == pytest.approx((1 - 2174 / 3696) / (1 - 79 / 377))
    assert black["status"] == "breach" and black["ci"][1] < 0.8
    assert report["summary"]["favourable_prediction"] == 0
    ratio = find(report, "race", "demographic_parity_ratio")
    assert ratio["rate"] == "favourable_rate" and ratio["lowest_group"] == "African-American"
    # with 1 taken as favourable (wrong for COMPAS) the rule would compare adverse rates
    _code, adverse = audit(capsys, compas_csv)
    assert (
        find(adverse, "race", "selection_rate_ratio_to_reference", "Caucasian")["reference_group"]
        == "African-American"
    )


def test_the_gate_fails_on_the_race_breaches(
    capsys: pytest.CaptureFixture[str], compas_csv: Path
) -> None:
    for rule in ("race:equalized_odds_difference", "demographic_parity_difference=0.1"):
        code = main(["audit", str(compas_csv), "--sensitive", "sex,race", "--fail-on", rule])
        err = capsys.readouterr().err
        assert code == 1, (rule, err)
        assert "race" in err


# -- the real file (tests/data/compas-scores-two-years.csv.gz) ---------------------------------
# The same checks on ProPublica's rows themselves; expected values come from pandas on the file.


@pytest.fixture(scope="module")
def real_rows() -> pd.DataFrame:
    return compas_audit_rows()


@pytest.fixture(scope="module")
def real_csv(tmp_path_factory: pytest.TempPathFactory, real_rows: pd.DataFrame) -> Path:
    path = tmp_path_factory.mktemp("compas-real") / "compas.csv"
    real_rows.to_csv(path, index=False)
    return path


def rates_by_race(rows: pd.DataFrame) -> pd.DataFrame:
    """Per race: rows, selection rate, TPR and FPR with their denominators (pandas, directly)."""
    grouped = rows.groupby("race")
    positives = rows[rows["label"] == 1].groupby("race")["prediction"]
    negatives = rows[rows["label"] == 0].groupby("race")["prediction"]
    return pd.DataFrame(
        {
            "n": grouped.size(),
            "selection_rate": grouped["prediction"].mean(),
            "tpr": positives.mean(),
            "positives": positives.size(),
            "fpr": negatives.mean(),
            "negatives": negatives.size(),
        }
    )


def test_the_synthesized_cells_are_the_real_files(real_rows: pd.DataFrame) -> None:
    def cells(frame: pd.DataFrame) -> dict:
        counted = frame.groupby(["race", "sex", "prediction", "label"]).size()
        return {key: int(value) for key, value in counted.items()}

    assert cells(compas_like()) == cells(real_rows)


def test_the_real_file_breaches_race_equalized_odds_and_parity(
    capsys: pytest.CaptureFixture[str], real_csv: Path, real_rows: pd.DataFrame
) -> None:
    code, report = audit(capsys, real_csv)
    assert code == 0
    assert report["summary"]["rows"] == len(real_rows) == 7214
    rates = rates_by_race(real_rows)
    minimum = 30  # the default --min-group-size
    parity = find(report, "race", "demographic_parity_difference")
    compared = rates[rates["n"] >= minimum]["selection_rate"]
    assert parity["status"] == "breach" and parity["ci"][0] > 0.1
    assert parity["value"] == pytest.approx(compared.max() - compared.min())
    assert parity["small_groups"] == sorted(rates.index[rates["n"] < minimum])
    odds = find(report, "race", "equalized_odds_difference")
    tpr = rates[rates["positives"] >= minimum]["tpr"]
    fpr = rates[rates["negatives"] >= minimum]["fpr"]
    assert odds["status"] == "breach" and odds["ci"][0] > 0.1
    assert odds["value"] == pytest.approx(max(tpr.max() - tpr.min(), fpr.max() - fpr.min()))
    assert odds["ci"][0] <= odds["value"] <= odds["ci"][1]
    small = (rates["positives"] < minimum) | (rates["negatives"] < minimum)
    assert odds["small_groups"] == sorted(rates.index[small])


def test_the_real_file_gives_propublicas_false_positive_rates(
    capsys: pytest.CaptureFixture[str], real_csv: Path, real_rows: pd.DataFrame
) -> None:
    _code, report = audit(capsys, real_csv)
    groups = {(g["attribute"], g["group"]): g for g in report["groups"]}
    black, white = groups[("race", "African-American")], groups[("race", "Caucasian")]
    rates = rates_by_race(real_rows)
    assert black["fpr"] == pytest.approx(rates.loc["African-American", "fpr"])
    assert white["fpr"] == pytest.approx(rates.loc["Caucasian", "fpr"])
    # ProPublica's published figures: 44.8% and 23.5% of those who did not reoffend
    assert (round(black["fpr"], 3), round(white["fpr"], 3)) == (0.448, 0.235)
    assert black["fpr_ci"][0] > white["fpr_ci"][1]  # the gap is not chance
    for group, row in (("African-American", black), ("Caucasian", white)):
        negatives = real_rows[(real_rows["race"] == group) & (real_rows["label"] == 0)]
        assert row["fp"] == int(negatives["prediction"].sum())
        assert row["fp"] + row["tn"] == len(negatives)
