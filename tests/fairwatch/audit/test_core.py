"""The audit itself (:mod:`fairwatch.audit.core`): the counts of a file's rows per group.

Counts are compared with a pandas group-by of the same rows, for each attribute and for an
intersection; the file's rows, labeled rows and the scored flag are reported as they are.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairwatch.audit.core import AuditOptions, audit_rows, parse_intersections, run_audit
from fairwatch.audit.errors import AuditInputError
from fairwatch.audit.reader import Rows
from monitor.engine.evaluate import EngineConfig
from tests.paths import DATA


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(8)
    size = 900
    return pd.DataFrame(
        {
            "sex": rng.choice(["F", "M"], size),
            "race": rng.choice(["A", "B", "C"], size, p=[0.5, 0.4, 0.1]),
            "prediction": rng.integers(0, 2, size),
            "label": rng.choice([0, 1, -1], size, p=[0.45, 0.45, 0.1]),
        }
    )


def as_rows(frame: pd.DataFrame) -> Rows:
    columns = {}
    for name in frame.columns:
        values = frame[name].tolist()
        if name == "label":
            values = [None if value < 0 else value for value in values]
        array = np.empty(len(values), dtype=object)
        array[:] = values
        columns[name] = array
    return Rows(columns, len(frame))


def expected_counts(frame: pd.DataFrame, keys: list[str]) -> dict[str, tuple[int, ...]]:
    out = {}
    for key, rows in frame.groupby(keys):
        key = key if isinstance(key, tuple) else (key,)
        p, y = rows["prediction"], rows["label"]
        out["&".join(str(part) for part in key)] = (
            len(rows),
            int(p.sum()),
            int(((p == 1) & (y == 1)).sum()),
            int(((p == 1) & (y == 0)).sum()),
            int(((p == 0) & (y == 0)).sum()),
            int(((p == 0) & (y == 1)).sum()),
        )
    return out


def test_counts_per_group_and_intersection_equal_a_group_by(frame: pd.DataFrame) -> None:
    options = AuditOptions(
        attributes=("sex", "race"),
        intersections=parse_intersections(["sex,race"]),
        engine=EngineConfig(bootstrap_samples=50),
    )
    report = audit_rows(as_rows(frame), options, "frame")
    assert (report.source, report.rows, report.scored) == ("frame", 900, False)
    assert report.labeled_rows == int((frame["label"] >= 0).sum())
    found: dict[str, dict[str, tuple[int, ...]]] = {}
    for group in report.evaluation.groups:
        found.setdefault(group.attribute, {})[group.group] = (
            group.n, group.predicted_positive, group.tp, group.fp, group.tn, group.fn,
        )  # fmt: skip
    assert found["sex"] == expected_counts(frame, ["sex"])
    assert found["race"] == expected_counts(frame, ["race"])
    assert found["race&sex"] == expected_counts(frame, ["race", "sex"])


def test_intersections_are_sorted_deduplicated_and_need_two_attributes() -> None:
    assert parse_intersections(["sex,race", "race, sex", "age,sex"]) == (
        ("race", "sex"),
        ("age", "sex"),
    )
    with pytest.raises(AuditInputError, match="two or more"):
        parse_intersections(["sex"])


def test_a_file_is_audited_and_no_attribute_is_refused(frame: pd.DataFrame) -> None:
    report = run_audit(DATA / "audit_events.jsonl", AuditOptions(attributes=("sex",)))
    assert report.rows == 400 and report.labeled_rows == 360 and report.scored
    assert {group.group for group in report.evaluation.groups} == {"Female", "Male"}
    with pytest.raises(AuditInputError, match="at least one sensitive attribute"):
        audit_rows(as_rows(frame), AuditOptions(attributes=()))
