"""The exact threshold search against brute force, and its building blocks against naive ones:
differences and ratios (the four-fifths rule), rates that rise and fall with the threshold,
candidates from rows and from score histograms."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.engine.counts import bin_edges, count_batch
from monitor.engine.thresholds.candidates import (
    CONSTRAINT_RATES,
    CONSTRAINTS,
    OBJECTIVES,
    SELECT_NONE,
    Aggregation,
    Problem,
    binned_candidates,
    group_candidates,
)
from monitor.engine.thresholds.outcome import comparable, disparity, meets, outcome
from monitor.engine.thresholds.search import RangeArgmax, band_window, search


def problem_of(
    codes: np.ndarray,
    score: np.ndarray,
    label: np.ndarray,
    constraint: str,
    objective: str = "accuracy",
    min_group_size: int = 0,
    aggregation: Aggregation = "difference",
    favourable: int = 1,
) -> Problem:
    names = [f"g{index}" for index in range(int(codes.max()) + 1)]
    return Problem(
        groups=group_candidates(codes, names, score, label),
        constraint=constraint,
        objective=objective,
        min_group_size=min_group_size,
        baseline=0.5,
        positives=int(np.count_nonzero(label == 1)),
        negatives=int(np.count_nonzero(label == 0)),
        aggregation=aggregation,
        favourable=favourable,
    )


def brute_force(problem: Problem, tolerance: float) -> int:
    """The best objective score over every combination of candidate thresholds whose
    disparity is within the tolerance (defined, when groups can be compared at all)."""
    searched = problem.searched()
    baseline = problem.baseline_indices()
    choices = [
        range(len(group.thresholds)) if flag else [int(index)]
        for group, flag, index in zip(problem.groups, searched, baseline, strict=True)
    ]
    best = None
    can_compare = comparable(problem)
    for combination in itertools.product(*choices):
        indices = np.array(combination)
        found = disparity(problem, indices)
        if found is None and can_compare:
            continue
        if found is not None and not meets(problem, found, tolerance):
            continue
        value = outcome(problem, indices).value
        best = value if best is None else max(best, value)
    assert best is not None
    return best


@st.composite
def datasets(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    groups = draw(st.integers(2, 3))
    rows = draw(st.integers(groups + 2, 13))
    codes = np.array(draw(st.lists(st.integers(0, groups - 1), min_size=rows, max_size=rows)))
    codes[:groups] = np.arange(groups)  # every group has a row
    # few distinct scores: ties within groups, and at the baseline 0.5
    score = np.array(draw(st.lists(st.integers(0, 5), min_size=rows, max_size=rows))) / 5
    label = np.array(
        draw(st.lists(st.sampled_from([-1, 0, 1, 1, 0]), min_size=rows, max_size=rows))
    )
    label[:2] = (0, 1)  # both labels present
    return codes, score, label.astype(np.int8)


@settings(max_examples=120, deadline=None)
@given(
    data=datasets(),
    constraint=st.sampled_from(CONSTRAINTS),
    objective=st.sampled_from(OBJECTIVES),
    tolerance=st.sampled_from([0.0, 0.05, 0.1, 0.2, 0.25, 1 / 3, 0.5]),
    min_group_size=st.integers(0, 3),
)
def test_the_search_finds_the_brute_force_optimum(
    data: tuple[np.ndarray, np.ndarray, np.ndarray],
    constraint: str,
    objective: str,
    tolerance: float,
    min_group_size: int,
) -> None:
    problem = problem_of(*data, constraint, objective, min_group_size)
    found = search(problem, tolerance)
    assert found.value == brute_force(problem, tolerance)
    assert found.disparity is None or found.disparity <= tolerance
    # groups the engine cannot compare keep the baseline
    for group, flag, threshold in zip(
        problem.groups, problem.searched(), found.thresholds, strict=True
    ):
        if not flag:
            assert threshold == problem.baseline, group.name


@settings(max_examples=150, deadline=None)
@given(
    data=datasets(),
    constraint=st.sampled_from(list(CONSTRAINT_RATES)),
    aggregation=st.sampled_from(["difference", "ratio"]),
    favourable=st.sampled_from([0, 1]),
    tolerance=st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.6, 0.8, 0.9, 1.0]),
    min_group_size=st.integers(0, 3),
)
def test_ratios_and_falling_rates_find_the_brute_force_optimum(
    data: tuple[np.ndarray, np.ndarray, np.ndarray],
    constraint: str,
    aggregation: Aggregation,
    favourable: int,
    tolerance: float,
    min_group_size: int,
) -> None:
    """``min / max >= tolerance`` (the four-fifths rule at 0.8) and differences of FPR, FNR and
    of the favourable rate (prediction 0 favourable: it falls as more rows are selected)."""
    problem = problem_of(
        *data, constraint, "accuracy", min_group_size, aggregation=aggregation,
        favourable=favourable,
    )  # fmt: skip
    if aggregation == "ratio" and tolerance == 0.0:
        with pytest.raises(ValueError, match="> 0 for a ratio"):
            search(problem, tolerance)
        return
    found = search(problem, tolerance)
    assert found.value == brute_force(problem, tolerance)
    if comparable(problem):
        assert found.disparity is not None and meets(problem, found.disparity, tolerance)


def naive_equalized_odds(problem: Problem, tolerance: float) -> int:
    """Every (TPR band, FPR band) pair, every group's best candidate inside: no pruning."""
    groups = problem.groups
    tprs = np.unique(np.concatenate([g.rate("tpr") for g in groups]))
    fprs = np.unique(np.concatenate([g.rate("fpr") for g in groups]))
    best = None
    for a in tprs:
        for b in fprs:
            total = 0
            for group in groups:
                tpr, fpr = group.rate("tpr"), group.rate("fpr")
                inside = (tpr >= a) & (tpr - a <= tolerance) & (fpr >= b) & (fpr - b <= tolerance)
                if not inside.any():
                    break
                total += int(problem.values(group)[inside].max())
            else:
                best = total if best is None else max(best, total)
    assert best is not None
    return best


@pytest.mark.parametrize("seed", range(4))
def test_equalized_odds_pruning_matches_the_unpruned_search(seed: int) -> None:
    """A few hundred rows: the branch and bound equals trying every pair of bands."""
    rng = np.random.default_rng(seed)
    rows = 240
    codes = rng.integers(0, 3, rows)
    label = (rng.random(rows) < 0.4).astype(np.int8)
    # informative, group-shifted scores on a grid of 40 values
    score = np.clip(
        np.round((0.35 * label + 0.15 * codes + rng.random(rows) * 0.6) * 40) / 40, 0, 1
    )
    problem = problem_of(codes, score, label, "equalized_odds")
    for tolerance in (0.02, 0.05, 0.1, 0.2):
        found = search(problem, tolerance)
        assert found.value == naive_equalized_odds(problem, tolerance), tolerance
        assert found.disparity is not None and found.disparity <= tolerance


def test_range_argmax_is_the_first_largest_value() -> None:
    rng = np.random.default_rng(7)
    values = rng.integers(0, 6, 57)
    table = RangeArgmax(values)
    lo, hi = np.triu_indices(len(values))
    got = table.query(lo, hi)
    expected = [
        lo_ + int(np.argmax(values[lo_ : hi_ + 1])) for lo_, hi_ in zip(lo, hi, strict=True)
    ]
    assert got.tolist() == expected


def test_band_windows_hold_exactly_the_rates_within_the_tolerance() -> None:
    """``rate − lower <= tolerance`` as floats compute it (0.4 − 0.3 > 0.1, 0.3 − 0.2 < 0.1)."""
    rates = np.arange(11) / 10
    for tolerance in (0.0, 0.1, 0.2, 0.3):
        lo, hi = band_window(rates, rates, tolerance)
        for position, lower in enumerate(rates):
            inside = np.flatnonzero((rates >= lower) & (rates - lower <= tolerance))
            assert (lo[position], hi[position]) == (inside.min(), inside.max())


def test_ratio_and_falling_band_windows_hold_exactly_the_rates_in_the_band() -> None:
    """``lower / rate >= tolerance`` as floats compute it, on rising and on falling rates."""
    rising = np.array([0.0, 0.0, 0.1, 0.25, 0.4, 0.5, 0.8, 1.0])
    for rates, descending in ((rising, False), (rising[::-1].copy(), True)):
        lowers = np.unique(rates)
        for tolerance in (0.3, 0.5, 0.8, 1.0):
            lo, hi = band_window(rates, lowers, tolerance, "ratio", descending)
            for position, lower in enumerate(lowers):
                with np.errstate(divide="ignore", invalid="ignore"):
                    ok = (rates >= lower) & (rates > 0) & (lower / rates >= tolerance)
                inside = np.flatnonzero(ok)
                if inside.size:
                    assert (lo[position], hi[position]) == (inside.min(), inside.max())
                else:
                    assert lo[position] > hi[position]


def test_binned_candidates_are_the_rows_floored_to_bin_edges() -> None:
    """A histogram's candidates (bin edges weighted by their counts) are the candidates of the
    same rows with each score replaced by its bin's lower edge: the same search, the same
    answer."""
    rng = np.random.default_rng(11)
    rows, bins = 3000, 20
    codes = rng.integers(0, 3, rows)
    label = np.where(rng.random(rows) < 0.2, -1, (rng.random(rows) < 0.4).astype(int))
    score = np.clip(0.3 * (label == 1) + 0.1 * codes + 0.55 * rng.random(rows), 0, 1)
    matrix = count_batch(codes, 3, np.zeros(rows, dtype=int), label, score, score_bins=bins)
    edges = bin_edges(bins)
    binned = tuple(
        binned_candidates(
            f"g{g}",
            edges,
            matrix[g, 6 + 3 * bins : 6 + 4 * bins],
            matrix[g, 6 : 6 + bins],
            matrix[g, 6 + bins : 6 + 2 * bins],
        )
        for g in range(3)
    )
    floored = edges[np.minimum(np.floor(score * bins).astype(int), bins - 1)]
    direct = group_candidates(codes, ["g0", "g1", "g2"], floored, label.astype(np.int8))
    for one, other in zip(binned, direct, strict=True):
        np.testing.assert_array_equal(one.thresholds, other.thresholds)
        for field in ("selected", "tp", "fp"):
            np.testing.assert_array_equal(getattr(one, field), getattr(other, field))
        assert (one.n, one.positives, one.negatives) == (other.n, other.positives, other.negatives)


def test_candidates_are_the_distinct_scores_and_nobody() -> None:
    codes = np.array([0, 0, 0, 0, 1, 1])
    score = np.array([0.9, 0.4, 0.9, 0.1, 0.5, 0.2])
    label = np.array([1, 0, 0, -1, 1, 0], dtype=np.int8)
    first, second = group_candidates(codes, ["a", "b"], score, label)
    assert first.thresholds.tolist() == [SELECT_NONE, 0.9, 0.4, 0.1]
    assert first.selected.tolist() == [0, 2, 3, 4]
    assert first.tp.tolist() == [0, 1, 1, 1] and first.fp.tolist() == [0, 1, 2, 2]
    assert (first.n, first.positives, first.negatives) == (4, 1, 2)
    assert second.thresholds.tolist() == [SELECT_NONE, 0.5, 0.2]
    assert [first.index_of(t) for t in (1.0, 0.9, 0.5, 0.4, 0.0)] == [0, 1, 1, 2, 3]
    assert SELECT_NONE > 1.0


def test_the_thresholds_do_not_depend_on_the_row_order() -> None:
    rng = np.random.default_rng(3)
    rows = 400
    codes = rng.integers(0, 4, rows)
    label = (rng.random(rows) < 0.3).astype(np.int8)
    score = np.round(np.clip(0.3 * label + 0.1 * codes + 0.5 * rng.random(rows), 0, 1), 3)
    order = rng.permutation(rows)
    for constraint in CONSTRAINTS:
        one = search(problem_of(codes, score, label, constraint), 0.05)
        other = search(problem_of(codes[order], score[order], label[order], constraint), 0.05)
        assert one.thresholds == other.thresholds, constraint
