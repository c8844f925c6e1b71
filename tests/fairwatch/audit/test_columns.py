"""From rows to the engine's arrays (:mod:`fairwatch.audit.columns`)."""

from __future__ import annotations

import numpy as np
import pytest

from fairwatch.audit.columns import attribute_column, extract_columns
from fairwatch.audit.errors import AuditInputError
from fairwatch.audit.reader import Rows


def rows(**columns: list) -> Rows:
    arrays = {}
    for name, values in columns.items():
        array = np.empty(len(values), dtype=object)
        array[:] = values
        arrays[name.replace("__", ".")] = array
    return Rows(arrays, len(next(iter(arrays.values()))))


def test_binary_values_in_their_usual_spellings() -> None:
    found = extract_columns(
        rows(
            prediction=[1, "0", "true", "False", True, 0.0],
            label=[None, "", "yes", "no", 1.0, float("nan")],
            sex=["F", "M", "F", "M", "F", "M"],
        ),
        ["sex"],
    )
    assert found.prediction.tolist() == [1, 0, 1, 0, 1, 0]
    assert found.label.tolist() == [-1, -1, 1, 0, 1, -1]  # empty: not labeled (yet)
    assert found.score is None
    assert found.sensitive["sex"].tolist() == ["F", "M", "F", "M", "F", "M"]


def test_without_a_prediction_the_score_decides_at_the_threshold() -> None:
    found = extract_columns(
        rows(score=[0.2, 0.5, 0.7, "0.65"], sensitive__sex=["F", "M", "F", "M"]), ["sex"], 0.6
    )
    assert found.prediction.tolist() == [0, 0, 1, 1]
    assert found.score.tolist() == [0.2, 0.5, 0.7, 0.65]  # type: ignore[union-attr]
    assert found.label.tolist() == [-1, -1, -1, -1]  # no label column: none labeled


def test_the_attribute_may_be_a_column_or_a_field_of_sensitive() -> None:
    table = rows(prediction=[1], sex=["F"], sensitive__race=["A"])
    assert attribute_column(table, "sex") == "sex"
    assert attribute_column(table, "race") == "sensitive.race"
    assert attribute_column(table, "age") is None


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"prediction": [1, 2, 5], "sex": ["F"] * 3}, r"'prediction' must be binary .* 2, 5"),
        ({"prediction": [1, None], "sex": ["F"] * 2}, "'prediction' has 1 empty value"),
        ({"label": [1, 0], "sex": ["F"] * 2}, "need 'prediction'"),
        ({"prediction": [1, 0], "race": ["A"] * 2}, "missing sensitive attribute column.*sex"),
        ({"score": [0.5, 1.5], "sex": ["F"] * 2}, r"in \[0, 1\]; found 1.5"),
        ({"score": [0.5, None], "sex": ["F"] * 2}, "no 'prediction' column"),
    ],
)
def test_bad_columns_are_refused_naming_the_column(columns, message) -> None:
    with pytest.raises(AuditInputError, match=message):
        extract_columns(rows(**columns), ["sex"])
