"""Group naming, intersections and the group cap."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.engine.groups import (
    MISSING,
    cap_groups,
    encode_column,
    group_codes,
    group_columns,
    intersection_group_name,
    intersection_name,
)


def test_intersection_names_are_sorted_and_stable():
    assert intersection_name(["sex", "race"]) == "race&sex"
    assert intersection_name(["race", "sex"]) == "race&sex"
    assert intersection_group_name({"sex": "Female", "race": "Black"}) == "Black&Female"
    with pytest.raises(ValueError):
        intersection_name([])


def test_group_columns_give_attributes_then_intersections():
    sensitive = {
        "sex": np.array(["Female", "Male", "Female", "Male"], dtype=object),
        "race": np.array(["Black", "White", "White", "Black"], dtype=object),
    }
    columns = dict(group_columns(sensitive, ["sex", "race"], [["sex", "race"]]))
    assert list(columns) == ["sex", "race", "race&sex"]
    assert list(columns["race&sex"]) == ["Black&Female", "White&Male", "White&Female", "Black&Male"]
    assert list(columns["sex"]) == ["Female", "Male", "Female", "Male"]


def test_group_codes_only_observed_combinations():
    sensitive = {"a": ["x", "y", "x"], "b": ["1", "1", "2"], "c": ["p", "p", "p"]}
    *_, (name, codes, names) = group_codes(sensitive, ["a", "b"], [["c", "a", "b"]])
    assert name == "a&b&c"
    assert sorted(names) == ["x&1&p", "x&2&p", "y&1&p"]
    assert [names[code] for code in codes] == ["x&1&p", "y&1&p", "x&2&p"]


def test_missing_values_form_their_own_group():
    codes, names = encode_column(np.array(["a", None, float("nan"), "", "a"], dtype=object))
    assert [names[code] for code in codes] == ["a", MISSING, MISSING, MISSING, "a"]


def test_values_that_print_the_same_share_a_group():
    codes, names = encode_column(np.array([1, "1", 2], dtype=object))
    assert names == ["1", "2"]
    assert list(codes) == [0, 0, 1]


def test_unknown_attribute_is_named():
    with pytest.raises(KeyError, match="region"):
        group_columns({"sex": ["F"]}, ["region"])


def test_cap_keeps_largest_groups_and_counts_dropped():
    kept, dropped = cap_groups({"a": 5, "b": 50, "c": 5, "d": 1}, 2)
    assert kept == ["b", "a"]
    assert dropped == 2
    assert cap_groups({"a": 1}, None) == (["a"], 0)


def test_large_columns_factorize_like_small_ones():
    rng = np.random.default_rng(3)
    values = np.array(rng.choice(["a", "b", None, 1, "1"], 250_000), dtype=object)
    large_codes, large_names = encode_column(values)  # pandas' hash factorization
    small_codes, small_names = encode_column(values[:1000])  # dict path
    assert sorted(large_names) == sorted(small_names) == sorted(["a", "b", MISSING, "1"])
    as_names = np.asarray(large_names, dtype=object)[large_codes]
    np.testing.assert_array_equal(
        as_names[:1000], np.asarray(small_names, dtype=object)[small_codes]
    )
