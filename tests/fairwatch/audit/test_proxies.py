"""Proxy detection in ``fairwatch audit --features``: the measures against direct computations,
the flags on UCI Adult (vendored), the edge cases, every output format and bad input."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency
from scipy.stats.contingency import association as scipy_association
from sklearn.metrics import mutual_info_score

from fairwatch.audit.association import (
    contingency,
    correlation_ratio,
    cramers_v,
    fold_of,
    held_out_prediction,
    uncertainty_coefficient,
)
from fairwatch.audit.feature_encoding import LEAST_LEVEL_ROWS, encode_feature
from fairwatch.audit.proxies import PROXY_THRESHOLD
from fairwatch.cli import main

SMALL = pd.DataFrame(
    {
        "colour": ["red"] * 30 + ["blue"] * 25 + ["green"] * 20 + ["red"] * 5 + ["blue"] * 20,
        "group": ["a"] * 25 + ["b"] * 5 + ["a"] * 5 + ["b"] * 20 + ["c"] * 20 + ["c"] * 25,
    }
)


def run(capsys, *argv: object) -> tuple[int, str, str]:
    code = main(["audit", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def pairs(report: dict) -> dict[tuple[str, str], dict]:
    return {(p["feature"], p["attribute"]): p for p in report["proxies"]["associations"]}


# --- the measures against direct computations ------------------------------------------------


def test_cramers_v_matches_a_direct_scipy_computation():
    table = pd.crosstab(SMALL["colour"], SMALL["group"]).to_numpy()
    chi2, _p, _dof, _expected = chi2_contingency(table, correction=False)
    n = table.sum()
    rows, columns = table.shape
    # Bergsma (2013), written out from the paper's formulas
    phi2 = max(0.0, chi2 / n - (rows - 1) * (columns - 1) / (n - 1))
    rows_c = rows - (rows - 1) ** 2 / (n - 1)
    columns_c = columns - (columns - 1) ** 2 / (n - 1)
    expected_v = math.sqrt(phi2 / min(rows_c - 1, columns_c - 1))
    assert cramers_v(table.astype(float)) == pytest.approx(expected_v, abs=1e-12)
    assert cramers_v(table.astype(float), corrected=False) == pytest.approx(
        scipy_association(table, method="cramer", correction=False), abs=1e-12
    )
    assert cramers_v(table.astype(float)) < cramers_v(table.astype(float), corrected=False)
    # empty rows and columns do not count; a table with one column says nothing
    padded = np.zeros((5, 4))
    padded[:3, :3] = table
    assert cramers_v(padded) == pytest.approx(expected_v, abs=1e-12)
    assert cramers_v(np.array([[3.0], [4.0]])) is None


def test_correlation_ratio_and_mutual_information_match_direct_computations():
    rng = np.random.default_rng(7)
    groups = rng.integers(0, 3, 500)
    values = rng.normal(size=500) + 0.8 * groups
    frame = pd.DataFrame({"value": values, "group": groups})
    means = frame.groupby("group")["value"].transform("mean")
    expected = math.sqrt(
        ((means - values.mean()) ** 2).sum() / ((values - values.mean()) ** 2).sum()
    )
    assert correlation_ratio(values, groups, 3) == pytest.approx(expected, abs=1e-12)
    assert correlation_ratio(np.full(10, 2.0), np.arange(10) % 2, 2) is None
    levels = np.digitize(values, [0.0, 1.0])
    table = contingency(levels, groups, 3, 3)
    entropy = -sum(p * math.log(p) for p in np.bincount(groups) / 500)
    assert uncertainty_coefficient(table) == pytest.approx(
        mutual_info_score(groups, levels) / entropy, abs=1e-12
    )


def test_held_out_prediction_is_deterministic_and_perfect_for_a_copy():
    groups = np.array([0, 1, 1, 2] * 50)
    folds = fold_of(groups, 3)
    assert np.array_equal(folds, fold_of(groups, 3))
    for group in range(3):  # every fold holds every group's share
        assert set(np.bincount(folds[groups == group])) <= {10, 20, 21, 19}
    copy = held_out_prediction(groups, groups, 3, 3)
    assert copy is not None and copy.balanced_accuracy == 1.0 and copy.skill == 1.0
    assert copy.chance == pytest.approx(1 / 3)
    constant = held_out_prediction(np.zeros(200, dtype=np.int64), groups, 1, 3)
    assert constant is None


def test_the_classifier_weighs_groups_equally_not_by_size():
    # a level that holds 40% of the small group and 10% of the large one points to the small
    # group although most of its rows are in the large one
    groups = np.array([0] * 900 + [1] * 100)
    levels = np.array([1] * 90 + [0] * 810 + [1] * 40 + [0] * 60)
    result = held_out_prediction(levels, groups, 2, 2)
    assert result is not None
    assert result.balanced_accuracy == pytest.approx((810 / 900 + 40 / 100) / 2)


# --- encoding ----------------------------------------------------------------------------------


def test_encoding_edge_cases():
    constant = encode_feature("c", np.array(["x"] * 50, dtype=object))
    assert constant.kind == "constant" and constant.level_names == ("x",)
    with_missing = encode_feature("m", np.array(["a", None, "", "b"] * 20, dtype=object))
    assert with_missing.level_names[0] == "(missing)" and with_missing.missing == 40
    identifiers = encode_feature("id", np.array([f"p{i}" for i in range(300)], dtype=object))
    assert identifiers.kind == "constant" and identifiers.pooled == 300
    assert str(LEAST_LEVEL_ROWS) in identifiers.note
    many = np.array([f"v{i % 80}" for i in range(8000)], dtype=object)
    capped = encode_feature("many", many)
    assert len(capped.level_names) == 51 and capped.level_names[-1] == "(other)"
    few = encode_feature("few", np.array([1.0, 2.0, 3.0, np.nan] * 30))
    assert few.kind == "categorical" and "3 distinct values" in few.note
    assert set(few.level_names) == {"1", "2", "3", "(missing)"}
    numeric = encode_feature("n", np.array([float(i % 97) for i in range(970)] + [np.nan]))
    assert numeric.kind == "numeric" and numeric.values is not None
    assert numeric.missing == 1 and numeric.level_names[-1] == "(missing)"
    assert len(numeric.level_names) == 11
    spiky = encode_feature("gain", np.array([0.0] * 900 + [float(i) for i in range(100)]))
    assert spiky.level_names == ("≤ 0", "> 0")  # ties at 0 do not leave a single bin
    json_numbers = encode_feature("j", np.array([i % 40 for i in range(400)], dtype=object))
    assert json_numbers.kind == "numeric"


# --- UCI Adult through the CLI -----------------------------------------------------------------


@pytest.fixture(scope="module")
def adult_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fairwatch.demo.dataset import load_split

    frame = load_split("test")
    rng = np.random.default_rng(2024)
    rows = frame[
        ["sex", "race", "relationship", "marital_status", "occupation", "education",
         "workclass", "age", "hours_per_week", "capital_gain"]
    ].assign(
        prediction=(frame["education_num"] >= 13).astype(int),
        label=frame["label"],
        random_category=rng.choice(list("abcdefghij"), len(frame)),
        random_number=rng.normal(size=len(frame)),
        sex_copy=frame["sex"],
        constant="same",
    )  # fmt: skip
    path = tmp_path_factory.mktemp("adult") / "adult-proxies.csv"
    rows.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def adult_report(adult_csv: Path) -> dict:
    import contextlib
    import io

    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        code = main(["audit", str(adult_csv), "--sensitive", "sex,race", "--features", "all",
                     "--format", "json"])  # fmt: skip
    assert code == 0
    return json.loads(output.getvalue())


def test_adult_relationship_and_marital_status_are_proxies_for_sex(adult_report):
    found = pairs(adult_report)
    for feature in ("relationship", "marital_status"):
        pair = found[(feature, "sex")]
        assert pair["proxy"], pair
        assert pair["measure"] == "cramers_v" and pair["cramers_v"] >= PROXY_THRESHOLD
        assert pair["balanced_accuracy"] > pair["chance"] + 0.1
    assert found[("relationship", "sex")]["strength"] == "strong"
    assert {"feature": "relationship", "attribute": "sex"} in adult_report["proxies"]["flagged"]


def test_adult_random_columns_are_not_flagged_and_a_copy_is(adult_report):
    found = pairs(adult_report)
    for attribute in ("sex", "race"):
        for feature in ("random_category", "random_number"):
            pair = found[(feature, attribute)]
            assert not pair["proxy"], pair
            assert pair["association"] < 0.05 and abs(pair["skill"]) < 0.05
    assert found[("random_number", "sex")]["kind"] == "numeric"
    assert found[("random_number", "sex")]["measure"] == "correlation_ratio"
    copy = found[("sex_copy", "sex")]
    assert copy["proxy"] and copy["cramers_v"] == pytest.approx(1.0, abs=1e-3)
    assert copy["balanced_accuracy"] == 1.0 and copy["mutual_information"] == pytest.approx(1.0)
    constant = found[("constant", "sex")]
    assert constant["kind"] == "constant" and constant["association"] is None
    assert not constant["proxy"] and constant["strength"] == "undefined"


def test_adult_all_features_leave_out_the_audit_columns(adult_report):
    features = adult_report["proxies"]["features"]
    for column in ("sex", "race", "prediction", "label"):
        assert column not in features
    assert {"relationship", "age", "random_number", "constant"} <= set(features)
    associations = adult_report["proxies"]["associations"]
    assert len(associations) == 2 * len(features)
    sex = [p["score"] for p in associations if p["attribute"] == "sex"]
    assert sex[-1] is None  # the constant column: undefined, last
    assert sex[:-1] == sorted(sex[:-1], reverse=True)  # strongest first


def test_every_format_shows_the_proxies_and_json_is_deterministic(capsys, adult_csv, tmp_path):
    argv = (adult_csv, "--sensitive", "sex,race", "--features", "relationship,random_number")
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    assert "proxy features" in out and "relationship" in out and "strong" in out
    first = run(capsys, *argv, "--format", "json")[1]
    assert first == run(capsys, *argv, "--format", "json")[1]
    assert json.loads(first)["proxies"]["features"] == ["relationship", "random_number"]
    output = tmp_path / "report.html"
    assert run(capsys, *argv, "--format", "html", "-o", output)[0] == 0
    page = output.read_text()
    assert "<h2>Proxy features</h2>" in page and "Bergsma" in page
    assert 'badge breach">strong' in page and "not causation" in page
    section = page[page.index("<h2>Proxy features</h2>") :]
    assert "<svg" in section
    for forbidden in ("<script", "<link", "src=", "@import"):
        assert forbidden not in page
    assert not re.search(r"url\((?!#)", page)


def test_without_features_the_report_is_unchanged(capsys, adult_csv):
    code, out, _err = run(capsys, adult_csv, "--sensitive", "sex", "--format", "json")
    assert code == 0 and set(json.loads(out)) == {"groups", "disparities", "summary"}


def test_a_sensitive_attribute_named_as_a_feature_is_not_compared_with_itself(capsys, adult_csv):
    code, out, err = run(capsys, adult_csv, "--sensitive", "sex,race", "--features", "race",
                         "--format", "json")  # fmt: skip
    assert code == 0, err
    assert list(pairs(json.loads(out))) == [("race", "sex")]


@pytest.mark.parametrize(
    ("features", "message"),
    [
        ("nope", "no column 'nope' in the file"),
        ("relationship,nope", "no column 'nope' in the file"),
        ("all,age", "'all' takes no other column names"),
    ],
)
def test_a_bad_feature_list_is_one_line_and_exit_code_2(capsys, adult_csv, features, message):
    code, out, err = run(capsys, adult_csv, "--sensitive", "sex", "--features", features)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fairwatch audit: error: --features")
    assert message in lines[0]


def test_an_attribute_with_one_group_leaves_the_measures_undefined(capsys, tmp_path):
    path = tmp_path / "one_group.jsonl"
    rows = [{"prediction": i % 2, "sex": "F", "colour": "rgb"[i % 3]} for i in range(90)]
    path.write_text("\n".join(json.dumps(row) for row in rows))
    code, out, err = run(capsys, path, "--sensitive", "sex", "--features", "all", "--format",
                         "json")  # fmt: skip
    assert code == 0, err
    pair = pairs(json.loads(out))[("colour", "sex")]
    assert pair["association"] is None and pair["skill"] is None and not pair["proxy"]
    assert "fewer than two groups" in pair["note"]
