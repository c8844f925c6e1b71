"""Exact search for deterministic per-group thresholds that meet a constraint within a tolerance.

The objective is a sum over groups (:meth:`Problem.values`), so once every group's allowed
candidates are known, each group independently takes its best one. The constraint says that
every group's rate lies in a band ``[L, L + tolerance]``; in an optimal choice ``L`` can be taken
as the smallest chosen rate, which is one of the candidates' rates. So the search tries every
candidate rate as ``L``: a group's candidates inside the band are a contiguous run of ``k`` (its
rates are non-decreasing in ``k``), found by binary search, and the best of a run comes from a
sparse table in O(1). With ``U`` distinct rates and ``G`` groups that is O(n log n + U·G).

Equalized odds bounds two rates: the band of TPR (lower end ``a``) and the band of FPR (lower
end ``b``). For each ``a`` the groups' runs are cut to their TPR band, and ``b`` takes every FPR
value of those runs that can still be the smallest chosen FPR (at least ``max_g`` of the runs'
smallest FPR minus the tolerance, at most ``min_g`` of their largest FPR); each ``(a, b)`` pair
is then one query per group. The ``a`` go best bound first (the objective if FPR were free), in
vectorized chunks of pairs, until no remaining ``a`` can reach the best choice found: branch
and bound, with the exhaustive search's answer.

A ratio constraint (``min / max >= tolerance``, the four-fifths rule) is the same search with
the band ``[L, U]`` of the rates ``r`` with ``L / r >= tolerance`` (the engine's division); a
rate that falls as more rows are selected (the favourable rate, FNR) is searched on its
candidates in reverse order, where it rises.

When the unconstrained choice (each group's best candidate) is within the tolerance, it is the
answer. Ties between choices of the same objective go to the smaller disparity, then to the
lowest band (``L``, or ``a`` then ``b``); within a group to the fewest rows selected. The same
input always gives the same thresholds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from monitor.engine.thresholds.candidates import DESCENDING_RATES, Aggregation, Problem
from monitor.engine.thresholds.outcome import Outcome, comparable, disparity, meets, outcome

#: Band pairs evaluated per vectorized step of the equalized-odds search (memory bound).
CHUNK_PAIRS = 1 << 20
#: The first chunk: small, so that a good choice (and with it the bound) comes early.
MIN_CHUNK_PAIRS = 1 << 12
#: Widens a prefilter computed with a rounded subtraction; the exact test comes after it.
SLACK = 1e-12


class RangeArgmax:
    """The first position of the largest value in any ``values[lo..hi]`` in O(1) (a sparse
    table of argmaxes over spans of 2^j)."""

    def __init__(self, values: np.ndarray) -> None:
        self.values = np.asarray(values)
        size = len(self.values)
        levels = [np.arange(size, dtype=np.int64)]
        span = 1
        while 2 * span <= size:
            previous = levels[-1]
            left = previous[: size - 2 * span + 1]
            right = previous[span : size - span + 1]
            better = np.where(self.values[right] > self.values[left], right, left)
            levels.append(np.concatenate((better, np.zeros(size - len(better), np.int64))))
            span *= 2
        self.table = np.stack(levels)

    def query(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Argmax of ``values[lo..hi]`` (inclusive; ``lo <= hi`` wherever the answer is used,
        other entries return 0)."""
        valid = lo <= hi
        low = np.where(valid, lo, 0)
        length = np.where(valid, hi - lo + 1, 1)
        level = np.frexp(length.astype(np.float64))[1] - 1
        left = self.table[level, low]
        right = self.table[level, low + length - (1 << level)]
        return np.where(self.values[right] > self.values[left], right, left)


def within(
    rates: np.ndarray, lower: np.ndarray, tolerance: float, aggregation: Aggregation
) -> np.ndarray:
    """Whether each rate lies in the band from ``lower``, tested as the engine computes the
    disparity: ``rate − lower <= tolerance`` (one float subtraction) or, for a ratio (tolerance
    above 0), ``lower / rate >= tolerance`` with ``rate > 0`` (a largest rate of 0 leaves the
    ratio undefined)."""
    if aggregation == "difference":
        return np.asarray(rates - lower <= tolerance)
    positive = rates > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.divide(lower, np.where(positive, rates, 1.0))
    return np.asarray(positive & (ratio >= tolerance))


def band_window(
    rates: np.ndarray,
    lower: np.ndarray,
    tolerance: float,
    aggregation: Aggregation = "difference",
    descending: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """For each ``lower``: the run ``[lo, hi]`` of candidates with ``rate >= lower`` and the
    rate within the band (:func:`within`). ``rates`` are non-decreasing, or non-increasing with
    ``descending`` (the run is then found on the reversed candidates and mapped back)."""
    if descending:
        lo, hi = band_window(rates[::-1], lower, tolerance, aggregation)
        last = len(rates) - 1
        return last - hi, last - lo
    size = len(rates)
    lo = np.searchsorted(rates, lower, side="left")
    if aggregation == "difference":
        guess = lower + tolerance
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            guess = np.where(tolerance > 0, lower / tolerance, np.inf)
    hi = np.searchsorted(rates, guess, side="right") - 1
    while True:  # the guess rounds: step to the exact boundary (a step or two)
        at = rates[np.clip(hi, 0, size - 1)]
        too_far = (hi >= lo) & (hi >= 0) & ~within(at, lower, tolerance, aggregation)
        if not too_far.any():
            break
        hi = hi - too_far
    while True:
        nxt = rates[np.clip(hi + 1, 0, size - 1)]
        room = (hi + 1 < size) & within(nxt, lower, tolerance, aggregation) & (hi + 1 >= lo)
        if not room.any():
            break
        hi = hi + room
    return lo, hi


def lowest_start(smallest: np.ndarray, tolerance: float, aggregation: Aggregation) -> np.ndarray:
    """The least value the smallest chosen rate can take when some group's rate is at least
    ``smallest`` (widened by :data:`SLACK`: a prefilter, the exact test comes after)."""
    if aggregation == "difference":
        return smallest - tolerance - SLACK
    return smallest * tolerance - SLACK


def unconstrained(problem: Problem) -> np.ndarray:
    """Each searched group's best candidate with no constraint (first on ties); the other
    groups at the baseline."""
    indices = problem.baseline_indices()
    searched = problem.searched()
    for position, group in enumerate(problem.groups):
        if searched[position]:
            indices[position] = int(np.argmax(problem.values(group)))
    return indices


def search(problem: Problem, tolerance: float) -> Outcome:
    """The best deterministic thresholds whose disparity is at most ``tolerance``."""
    if tolerance < 0 or (problem.aggregation == "ratio" and tolerance <= 0):
        bound = "> 0 for a ratio" if problem.aggregation == "ratio" else ">= 0"
        raise ValueError(f"the tolerance must be {bound}, got {tolerance:g}")
    free = unconstrained(problem)
    found = disparity(problem, free)
    # undefined: fewer than two groups to compare (nothing to constrain), or a ratio whose
    # largest rate is 0 (the search then finds defined ones)
    if (found is None and not comparable(problem)) or (
        found is not None and meets(problem, found, tolerance)
    ):
        return outcome(problem, free)
    if problem.constraint == "equalized_odds":
        indices = _two_rate_search(problem, tolerance)
    else:
        indices = _one_rate_search(problem, problem.rates[0], tolerance)
    return outcome(problem, indices)


class _Best:
    """The best choice seen so far: the largest value, then the smallest disparity, then the
    lowest band (``a``, then ``b``): independent of the order in which bands are tried."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.key: tuple[int, float, int, float] | None = None
        self.indices: np.ndarray | None = None

    @property
    def value(self) -> int | None:
        return None if self.key is None else self.key[0]

    def offer(
        self,
        positions: Sequence[int],
        choices: np.ndarray,
        totals: np.ndarray,
        bands: tuple[np.ndarray, np.ndarray],
    ) -> None:
        """``choices`` is (searched groups × pairs), ``totals`` the pairs' values (int64),
        ``bands`` each pair's ``a`` position and ``b``; infeasible pairs already removed."""
        if totals.size == 0:
            return
        gaps = self._gaps(positions, choices)
        first, second = bands
        best = int(np.lexsort((second, first, gaps, -totals))[0])
        key = (int(totals[best]), -float(gaps[best]), -int(first[best]), -float(second[best]))
        if self.key is None or key > self.key:
            self.key = key
            indices = self.problem.baseline_indices()
            indices[list(positions)] = choices[:, best]
            self.indices = indices

    def _gaps(self, positions: Sequence[int], choices: np.ndarray) -> np.ndarray:
        """How far every pair's choice is from parity, smaller is fairer: the worst rate gap
        over taking-part groups, or minus the worst ratio."""
        ratio = self.problem.aggregation == "ratio"
        worst = np.full(choices.shape[1], -1.0 if ratio else 0.0)
        for rate in self.problem.rates:
            part = self.problem.taking_part(rate)
            rows = [
                self.problem.groups[position].rate(rate)[choices[row]]
                for row, position in enumerate(positions)
                if part[position]
            ]
            if len(rows) >= 2:
                stacked = np.stack(rows)
                if ratio:
                    with np.errstate(divide="ignore", invalid="ignore"):
                        quotient = stacked.min(axis=0) / stacked.max(axis=0)
                    worst = np.maximum(worst, -np.nan_to_num(quotient, nan=0.0))
                else:
                    worst = np.maximum(worst, stacked.max(axis=0) - stacked.min(axis=0))
        return worst


def _one_rate_search(problem: Problem, rate: str, tolerance: float) -> np.ndarray:
    positions = np.flatnonzero(problem.searched()).tolist()
    groups = [problem.groups[position] for position in positions]
    lower = np.unique(np.concatenate([group.rate(rate) for group in groups]))
    choices = np.empty((len(groups), lower.size), dtype=np.int64)
    totals = np.zeros(lower.size, dtype=np.int64)
    feasible = np.ones(lower.size, dtype=bool)
    descending = rate in DESCENDING_RATES
    for row, group in enumerate(groups):
        values = problem.values(group)
        lo, hi = band_window(group.rate(rate), lower, tolerance, problem.aggregation, descending)
        choices[row] = RangeArgmax(values).query(lo, hi)
        feasible &= lo <= hi
        totals += values[choices[row]]
    best = _Best(problem)
    bands = (np.flatnonzero(feasible), np.zeros(int(feasible.sum())))
    best.offer(positions, choices[:, feasible], totals[feasible], bands)
    assert best.indices is not None  # selecting everybody always meets the constraint
    return best.indices


class _TwoRates:
    """The equalized-odds search's per-group arrays (searched groups only)."""

    def __init__(self, problem: Problem, tolerance: float) -> None:
        self.positions = np.flatnonzero(problem.searched()).tolist()
        groups = [problem.groups[position] for position in self.positions]
        self.in_tpr = problem.taking_part("tpr")[self.positions]
        self.in_fpr = problem.taking_part("fpr")[self.positions]
        self.tprs = [group.rate("tpr") for group in groups]
        self.fprs = [group.rate("fpr") for group in groups]
        self.values = [problem.values(group) for group in groups]
        self.tables = [RangeArgmax(values) for values in self.values]
        self.tolerance = tolerance
        self.aggregation = problem.aggregation
        tpr_rates = [rates for rates, part in zip(self.tprs, self.in_tpr, strict=True) if part]
        # no group compared on TPR: one "band" holding every candidate
        self.lower_a = np.unique(np.concatenate(tpr_rates)) if tpr_rates else np.zeros(1)
        self.runs = []  # per group: the run of k inside the TPR band of each a
        for row, rates in enumerate(self.tprs):
            if self.in_tpr[row]:
                self.runs.append(band_window(rates, self.lower_a, tolerance, self.aggregation))
            else:
                size = len(rates)
                self.runs.append(
                    (np.zeros(self.lower_a.size, np.int64), np.full(self.lower_a.size, size - 1))
                )
        self.feasible = np.all([lo <= hi for lo, hi in self.runs], axis=0)
        # the best each a allows if FPR were free: a bound on its pairs
        self.bound = np.zeros(self.lower_a.size, dtype=np.int64)
        for row, (lo, hi) in enumerate(self.runs):
            self.bound += self.values[row][self.tables[row].query(lo, hi)]
        self._b_runs()

    def _b_runs(self) -> None:
        """Per FPR-compared group and a: the run of its candidates whose FPR can be ``b``, the
        smallest chosen FPR (not below the runs' smallest FPR minus the tolerance, not above
        their largest FPR)."""
        self.fpr_rows = np.flatnonzero(self.in_fpr).tolist()
        self.starts: list[np.ndarray] = []
        self.counts: list[np.ndarray] = []
        if not self.fpr_rows:
            self.per_a = self.feasible.astype(np.int64)
            return
        smallest = np.max([_at(self.fprs[r], self.runs[r][0]) for r in self.fpr_rows], axis=0)
        largest = np.min([_at(self.fprs[r], self.runs[r][1]) for r in self.fpr_rows], axis=0)
        for row in self.fpr_rows:
            lo, hi = self.runs[row]
            floor = lowest_start(smallest, self.tolerance, self.aggregation)
            first = np.maximum(lo, np.searchsorted(self.fprs[row], floor, side="left"))
            last = np.minimum(hi, np.searchsorted(self.fprs[row], largest, side="right") - 1)
            self.starts.append(first)
            self.counts.append(np.where(self.feasible & (first <= last), last - first + 1, 0))
        self.per_a = np.sum(self.counts, axis=0)

    def pairs(self, chunk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The ``(a position, b)`` pairs of the ``a`` positions in ``chunk``."""
        if not self.fpr_rows:
            return chunk, np.zeros(chunk.size)
        pair_a, pair_b = [], []
        for row, first, count in zip(self.fpr_rows, self.starts, self.counts, strict=True):
            sizes = count[chunk]
            total = int(sizes.sum())
            if total:
                offsets = np.repeat(np.cumsum(sizes) - sizes, sizes)
                k = np.repeat(first[chunk], sizes) + np.arange(total) - offsets
                pair_a.append(np.repeat(chunk, sizes))
                pair_b.append(self.fprs[row][k])
        if not pair_a:
            return np.zeros(0, np.int64), np.zeros(0)
        return np.concatenate(pair_a), np.concatenate(pair_b)

    def choose(
        self, pair_a: np.ndarray, pair_b: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each group's best candidate per pair, the pairs' totals and feasibility."""
        choices = np.empty((len(self.positions), pair_a.size), dtype=np.int64)
        totals = np.zeros(pair_a.size, dtype=np.int64)
        ok = np.ones(pair_a.size, dtype=bool)
        for row in range(len(self.positions)):
            lo, hi = self.runs[row][0][pair_a], self.runs[row][1][pair_a]
            if self.in_fpr[row]:
                fpr_lo, fpr_hi = band_window(
                    self.fprs[row], pair_b, self.tolerance, self.aggregation
                )
                lo, hi = np.maximum(lo, fpr_lo), np.minimum(hi, fpr_hi)
            choices[row] = self.tables[row].query(lo, hi)
            ok &= lo <= hi
            totals += self.values[row][choices[row]]
        return choices, totals, ok


def _two_rate_search(problem: Problem, tolerance: float) -> np.ndarray:
    """Equalized odds: TPR band from ``a``, FPR band from ``b`` (see the module's docstring).

    The ``a`` are tried best bound first (the objective if FPR were free), in chunks of pairs
    that grow from a few thousand; the search stops once no remaining ``a`` can match the best
    choice found (branch and bound: the result is the exhaustive search's)."""
    state = _TwoRates(problem, tolerance)
    wanted = np.flatnonzero(state.per_a > 0)
    order = wanted[np.lexsort((wanted, -state.bound[wanted]))]
    best = _Best(problem)
    size, done = MIN_CHUNK_PAIRS, 0
    while done < order.size:
        if best.value is not None and state.bound[order[done]] < best.value:
            break
        cumulative = np.cumsum(state.per_a[order[done:]])
        take = max(1, int(np.searchsorted(cumulative, size, side="right")))
        chunk = order[done : done + take]
        done += take
        size = min(2 * size, CHUNK_PAIRS)
        pair_a, pair_b = state.pairs(chunk)
        choices, totals, ok = state.choose(pair_a, pair_b)
        best.offer(state.positions, choices[:, ok], totals[ok], (pair_a[ok], pair_b[ok]))
    assert best.indices is not None  # selecting everybody always meets the constraint
    return best.indices


def _at(values: np.ndarray, positions: np.ndarray) -> np.ndarray:
    return values[np.clip(positions, 0, len(values) - 1)]
