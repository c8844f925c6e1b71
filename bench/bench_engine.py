"""Engine speed: counting rows into groups, and evaluating a window of groups.

Targets: counting 10 million rows into 1,000 groups at 20 million rows/s or more on one core;
all metrics and intervals for 100 groups in under 5 ms; the threshold advice of a firing alert
(no target: once per firing). Run: ``python bench/bench_engine.py``.
The machine may be shared: each figure is the best of several runs (the least disturbed one), in
this thread's CPU time, with the wall time next to it.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from functools import partial

import numpy as np

from monitor.engine.advice import Target, advise
from monitor.engine.counts import DEFAULT_SCORE_BINS, GroupCounts, count_batch, row_width
from monitor.engine.evaluate import EngineConfig, evaluate


def timings(function: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(best wall, best CPU) seconds of ``repeat`` calls after one warm-up call.

    CPU time (this thread's) is what the call costs on an idle core; on a shared, loaded
    machine the wall time also counts the time the thread waited for a core.
    """
    function()
    walls, cpus = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.thread_time()
        function()
        cpus.append(time.thread_time() - start_cpu)
        walls.append(time.perf_counter() - start)
    return min(walls), min(cpus)


def verdict(ok: bool) -> str:
    return "meets target" if ok else "MISSES target"


def bench_counting(rows: int, groups: int, repeat: int) -> None:
    rng = np.random.default_rng(1)
    group_index = rng.integers(0, groups, rows)  # int64, as factorized group codes come
    prediction = rng.integers(0, 2, rows, dtype=np.int8)
    label = rng.integers(-1, 2, rows, dtype=np.int8)
    score = rng.random(rows)
    wall, cpu = timings(lambda: count_batch(group_index, groups, prediction, label), repeat)
    rate = rows / cpu
    print(
        f"count_batch  {rows:,} rows → {groups:,} groups: {cpu * 1e3:7.1f} ms CPU "
        f"({rate / 1e6:6.1f} M rows/s; wall {wall * 1e3:.1f} ms = {rows / wall / 1e6:.1f} M "
        f"rows/s); target ≥ 20 M rows/s: {verdict(rate >= 20e6)}"
    )
    late = rng.random(rows) < 0.5
    _wall, cpu = timings(
        lambda: count_batch(group_index, groups, prediction, label, count_n=late), repeat
    )
    print(f"  with count_n (late labels):     {rows / cpu / 1e6:6.1f} M rows/s")
    for bins in (10, DEFAULT_SCORE_BINS):
        count = partial(count_batch, group_index, groups, prediction, label, score, score_bins=bins)
        _wall, cpu = timings(count, repeat)
        print(
            f"  with {bins}-bin score histograms:  {rows / cpu / 1e6:6.1f} M rows/s (no target; "
            f"{row_width(bins) * 8:,} bytes of state per group and pane)"
        )


def window(
    layout: dict[str, int], seed: int = 2, spread: float = 0.0
) -> dict[tuple[str, str], GroupCounts]:
    """Counts of groups of 200–5,000 rows. With ``spread`` 0 every group has the same true
    rates, the engine's worst case (every group could be the highest or the lowest, so every
    group is simulated); a positive ``spread`` varies the rates between groups."""
    rng = np.random.default_rng(seed)
    counts = {}
    for attribute, groups in layout.items():
        for index in range(groups):
            n = int(rng.integers(200, 5000))
            shift = rng.uniform(-spread, spread, 3)
            positives = int(rng.binomial(n, 0.4 + shift[0]))
            tp = int(rng.binomial(positives, 0.7 + shift[1]))
            fp = int(rng.binomial(n - positives, 0.2 + shift[2] / 2))
            counts[(attribute, f"g{index}")] = GroupCounts(
                n, tp + fp, tp, fp, n - positives - fp, positives - tp
            )
    return counts


def bench_evaluate(repeat: int) -> None:
    config = EngineConfig()
    layouts = {
        "1 attribute × 100 groups": {"region": 100},
        "sex 2 + race 6 + race&sex 12 + age 5 + region 75": {
            "sex": 2,
            "race": 6,
            "race&sex": 12,
            "age": 5,
            "region": 75,
        },
        "sex 2 + race 6 + race&sex 12 (20 groups)": {"sex": 2, "race": 6, "race&sex": 12},
    }
    cases = [(f"{name}, equal rates", layout, 0.0) for name, layout in layouts.items()]
    cases.append(("1 attribute × 100 groups, rates ±0.15", {"region": 100}, 0.15))
    fewer = EngineConfig(bootstrap_samples=500)
    for name, layout, spread in cases:
        counts = window(layout, spread=spread)
        wall, cpu = timings(partial(evaluate, "m", "1h", 0, 3600, counts, config), repeat)
        _wall, cpu_fewer = timings(partial(evaluate, "m", "1h", 0, 3600, counts, fewer), repeat)
        groups = sum(layout.values())
        target = f"target < 5 ms: {verdict(cpu < 0.005)}" if groups == 100 else "(no target)"
        print(
            f"evaluate {name}: {cpu * 1e3:6.2f} ms CPU (wall {wall * 1e3:6.2f} ms; "
            f"{config.bootstrap_samples} simulation draws; {cpu_fewer * 1e3:.2f} ms with "
            f"{fewer.bootstrap_samples}); {target}"
        )


def bench_advice(repeat: int) -> None:
    """Threshold advice of one firing alert: a window of 6,000 scored rows in three groups."""
    rows = 6000
    rng = np.random.default_rng(3)
    codes = rng.choice(3, size=rows, p=[0.6, 0.396, 0.004])
    truth = (rng.random(rows) < 0.4).astype(np.int8)
    score = np.clip(0.3 * truth + 0.2 * (codes == 0) + 0.55 * rng.random(rows), 0.0, 1.0)
    label = np.where(rng.random(rows) < 0.25, -1, truth).astype(np.int8)
    config = EngineConfig()
    matrix = count_batch(codes, 3, (score >= 0.5).astype(np.int8), label, score)
    counts = {("sex", name): GroupCounts.from_row(matrix[i]) for i, name in enumerate("ABC")}
    window = evaluate("m", "1h", 0, 3600, counts, config)
    for metric, target in (
        ("demographic_parity_difference", Target("<=", 0.08)),
        ("equalized_odds_difference", Target("<=", 0.05)),
    ):
        wall, cpu = timings(partial(advise, window, "sex", metric, target, config), repeat)
        print(
            f"advise {metric} ({config.score_bins} bins, 3 groups): {cpu * 1e3:6.2f} ms CPU "
            f"(wall {wall * 1e3:.2f} ms; once per firing alert, the engine's evaluation of the "
            "advised window included)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--groups", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print(f"numpy {np.__version__}, {os.cpu_count()} CPU(s), one thread of work")
    bench_counting(args.rows, args.groups, args.repeat)
    bench_evaluate(max(args.repeat, 30))
    bench_advice(max(args.repeat, 30))


if __name__ == "__main__":
    main()
