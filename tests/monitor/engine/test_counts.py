"""Per-group counts: arithmetic, array and JSON forms, and vectorized counting against a loop."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.engine.counts import (
    BASE_WIDTH,
    COUNT_FIELDS,
    CountTable,
    GroupCounts,
    bin_edges,
    count_batch,
    row_width,
    score_bin,
    sum_counts,
)


def naive_counts(groups, n_groups, prediction, label, score, count_n, bins):
    """Row-by-row reference of what count_batch must produce."""
    width = row_width(bins if score is not None else 0)
    out = np.zeros((n_groups, width), dtype=np.int64)
    for row in range(len(groups)):
        g, p = int(groups[row]), int(prediction[row])
        y = -1 if label is None else int(label[row])
        if count_n is None or count_n[row]:
            out[g, 0] += 1
            out[g, 1] += p
        if y == 1:
            out[g, 2 if p else 5] += 1
        elif y == 0:
            out[g, 3 if p else 4] += 1
        if score is None or not np.isfinite(score[row]):
            continue
        # the bin whose edges b / bins hold the score: ``score >= b / bins`` for bins b and up
        b = max(k for k in range(bins) if k == 0 or score[row] >= k / bins)
        if y >= 0:
            out[g, BASE_WIDTH + y * bins + b] += 1
            out[g, BASE_WIDTH + 2 * bins + b] += round((score[row] - (b + 0.5) / bins) * 1e6)
        if count_n is None or count_n[row]:
            out[g, BASE_WIDTH + 3 * bins + b] += 1  # every scored prediction, labeled or not
    return out


# scores at and next to bin edges, where ``floor(score · bins)`` can land one bin off
edge_scores = st.builds(
    lambda k, bins, step: float(np.clip(np.nextafter(k / bins, 2.0 * step), 0.0, 1.0)),
    st.integers(0, 7),
    st.integers(1, 7),
    st.sampled_from([-1.0, 0.5, 1.0]),
).map(lambda value: min(value, 1.0))
batches = st.integers(min_value=0, max_value=60).flatmap(
    lambda size: st.tuples(
        st.lists(st.integers(0, 3), min_size=size, max_size=size),
        st.lists(st.integers(0, 1), min_size=size, max_size=size),
        st.lists(st.integers(-1, 1), min_size=size, max_size=size),
        st.lists(
            st.one_of(st.floats(0, 1), edge_scores, st.just(float("nan"))),
            min_size=size,
            max_size=size,
        ),
        st.lists(st.booleans(), min_size=size, max_size=size),
    )
)


@settings(max_examples=150, deadline=None)
@given(batch=batches, with_score=st.booleans(), with_count_n=st.booleans(), bins=st.integers(1, 7))
def test_count_batch_equals_row_by_row_counting(batch, with_score, with_count_n, bins):
    groups, prediction, label, score, count_n = (np.array(part) for part in batch)
    score_arg = score.astype(float) if with_score else None
    count_arg = count_n.astype(bool) if with_count_n else None
    got = count_batch(groups.astype(np.int64), 4, prediction, label, score_arg, count_arg, bins)
    expected = naive_counts(groups, 4, prediction, label, score_arg, count_arg, bins)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, expected)


def test_label_arriving_later_adds_only_confusion_counts():
    groups = np.array([0, 0, 1])
    predicted = count_batch(groups, 2, np.array([1, 0, 1]), np.array([-1, -1, -1]))
    late = count_batch(np.array([0]), 2, np.array([1]), np.array([1]), count_n=np.array([False]))
    window = GroupCounts.from_row(predicted[0]) + GroupCounts.from_row(late[0])
    assert window == GroupCounts(n=2, predicted_positive=1, tp=1)
    assert window.n_labeled == 1


def test_unlabeled_batch_without_label_array():
    got = count_batch(np.array([0, 1, 1]), 2, np.array([True, False, True]), None)
    np.testing.assert_array_equal(got, [[1, 1, 0, 0, 0, 0], [2, 1, 0, 0, 0, 0]])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"prediction": np.array([2, 0])}, "prediction must be 0 or 1"),
        ({"label": np.array([0, 3])}, "label must be 0, 1 or -1"),
        ({"group_index": np.array([0, 5])}, "group_index must lie in"),
        ({"prediction": np.array([0.5, 1.0])}, "prediction must hold integers"),
        ({"prediction": np.array([1])}, "differ in length"),
    ],
)
def test_count_batch_rejects_bad_arrays(kwargs, message):
    arguments = {
        "group_index": np.array([0, 1]),
        "n_groups": 2,
        "prediction": np.array([0, 1]),
        "label": np.array([0, 1]),
    }
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        count_batch(**arguments)


def test_group_counts_add_subtract_and_zero():
    a = GroupCounts(10, 4, 2, 1, 3, 1, ((1, 2), (0, 4)))
    b = GroupCounts(5, 1, 1, 0, 2, 0)
    total = a + b
    assert total == GroupCounts(15, 5, 3, 1, 5, 1, ((1, 2), (0, 4)))
    assert total - b == a
    assert total - a - b == GroupCounts.zero(2)
    assert GroupCounts.zero(2).score_histogram == ((0, 0), (0, 0))
    assert sum_counts([a, b, GroupCounts()]) == total


def test_mismatched_histograms_do_not_add():
    with pytest.raises(ValueError, match="bins"):
        GroupCounts(1, 1, 1, 0, 0, 0, ((0, 0), (1, 0))) + GroupCounts(
            1, 0, 0, 0, 1, 0, ((1, 0, 0), (0, 0, 0))
        )


def test_row_and_list_forms_round_trip():
    counts = GroupCounts(7, 3, 2, 1, 3, 1, ((1, 0, 2), (0, 3, 0)))
    row = counts.to_row()
    assert row.dtype == np.int64
    assert list(row[: len(COUNT_FIELDS)]) == [7, 3, 2, 1, 3, 1]
    assert GroupCounts.from_row(row) == counts
    assert GroupCounts.from_list(json.loads(json.dumps(counts.to_list()))) == counts
    plain = GroupCounts(3, 1, 0, 0, 0, 0)
    assert plain.to_row(4).shape == (row_width(4),)
    with pytest.raises(ValueError):
        GroupCounts.from_row([1, 2, 3])


def test_count_table_merges_subtracts_and_round_trips_json():
    groups = np.array([0, 1, 1, 2])
    matrix = count_batch(groups, 3, np.array([1, 0, 1, 1]), np.array([1, 0, -1, 0]))
    keys = [("sex", "Female"), ("sex", "Male"), ("race&sex", "Black&Female")]
    first = CountTable()
    first.add_matrix(keys, matrix)
    second = CountTable()
    second.add_matrix(keys, matrix)
    merged = first + second
    assert merged.counts()[("sex", "Male")] == GroupCounts(4, 2, 0, 0, 2, 0)
    assert merged - second == first
    assert len(merged - first - second) == 0  # all-zero rows are dropped
    restored = CountTable.from_json(json.loads(json.dumps(merged.to_json())))
    assert restored == merged
    assert CountTable.from_counts(merged.counts()) == merged


def test_count_table_accepts_rows_without_histogram():
    table = CountTable(score_bins=2)
    with_scores = count_batch(
        np.array([0]), 1, np.array([1]), np.array([1]), score=np.array([0.9]), score_bins=2
    )
    table.add_matrix([("a", "x")], with_scores)
    table.add_matrix([("a", "x")], count_batch(np.array([0]), 1, np.array([0]), np.array([0])))
    # 0.9 lies 0.15 above the centre of bin [0.5, 1): 150,000 micro-units
    assert table.counts()[("a", "x")] == GroupCounts(
        2, 1, 1, 0, 1, 0, ((0, 0), (0, 1)), (0, 150_000), (0, 1)
    )
    # 7 cells is no layout (9 would be a 1-bin row of the 3-cell layout, re-binned to 2 bins)
    with pytest.raises(ValueError, match="cells"):
        table.add_row(("a", "x"), np.zeros(7, dtype=np.int64))


def test_bins_agree_with_thresholds_at_their_edges():
    """``score >= b / bins`` selects exactly the scores of bins b and up, also next to an edge
    where ``floor(score · bins)`` is one bin off (0.29 · 100 = 28.999…)."""
    bins = 100
    edges = bin_edges(bins)
    near = np.concatenate([edges, np.nextafter(edges, -1.0), np.nextafter(edges, 2.0)])
    scores = np.clip(near, 0.0, 1.0)
    assert (np.floor(0.29 * bins) == 28) and score_bin(np.array([0.29]), bins)[0] == 29
    found = score_bin(scores, bins)
    for b in range(bins):
        np.testing.assert_array_equal(found >= b, scores >= edges[b])


def test_scored_predictions_are_counted_with_n_labeled_or_not():
    scores = np.array([0.05, 0.55, 0.95, np.nan])
    matrix = count_batch(
        np.zeros(4, dtype=np.int64), 1, np.array([0, 1, 1, 0]), np.array([-1, 1, -1, 0]),
        score=scores, score_bins=2,
    )  # fmt: skip
    counts = GroupCounts.from_row(matrix[0])
    assert counts.n == 4
    assert counts.score_predictions == (1, 2)  # the NaN score is not in the histogram
    assert counts.score_histogram == ((0, 0), (0, 1))
    late = count_batch(
        np.zeros(1, dtype=np.int64), 1, np.array([1]), np.array([1]), score=np.array([0.95]),
        count_n=np.array([False]), score_bins=2,
    )  # fmt: skip
    assert GroupCounts.from_row(late[0]).score_predictions == (0, 0)  # the prediction counted it
