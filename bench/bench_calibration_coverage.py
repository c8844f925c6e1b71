"""Coverage of the calibration difference's interval: how often a 95% interval contains the truth.

Each case gives, per group, a size, a score distribution (``Beta(a, b)``) and a link from score
to the true probability of label 1 (``calibrated``: the score; ``shift d``: the score minus
``d``; ``slope k``: ``½ + k (s − ½)``; ``square``: ``s²``), all clipped to [0, 1]. The true
calibration gap of a group is ``E[s] − E[p(s)]`` over its population (computed on 4 M draws);
the true difference is the largest gap minus the smallest. ``--windows`` windows (default 1,000)
draw fresh rows (scores, then labels) with a fixed seed; each is evaluated by the engine
(``min_group_size`` 0) and the share of windows whose interval contains the true difference is
printed, with the mean width and the share judged ``breach`` at the default threshold 0.1.

Run: ``python bench/bench_calibration_coverage.py`` (a minute or two on one core);
``--only TEXT`` runs the cases whose name contains it. docs/metrics.md quotes this output.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from monitor.engine.counts import GroupCounts, count_batch
from monitor.engine.evaluate import EngineConfig, evaluate

Link = Callable[[np.ndarray], np.ndarray]


def calibrated(score: np.ndarray) -> np.ndarray:
    return score


def shift(amount: float) -> Link:
    return lambda score: np.clip(score - amount, 0.0, 1.0)


def slope(factor: float) -> Link:
    return lambda score: np.clip(0.5 + factor * (score - 0.5), 0.0, 1.0)


def square(score: np.ndarray) -> np.ndarray:
    return score**2


@dataclass(frozen=True)
class Group:
    size: int
    beta: tuple[float, float]
    link: Link


@dataclass(frozen=True)
class Case:
    name: str
    groups: tuple[Group, ...]


def _case(name: str, *groups: tuple[int, tuple[float, float], Link]) -> Case:
    return Case(name, tuple(Group(size, beta, link) for size, beta, link in groups))


CASES = (
    _case("2 calibrated, 500+500", (500, (2, 3), calibrated), (500, (2, 3), calibrated)),
    _case("2 calibrated, 100+5000", (100, (2, 3), calibrated), (5000, (2, 3), calibrated)),
    _case(
        "2 calibrated, other scores, 300+3000",
        (300, (1, 4), calibrated),
        (3000, (4, 2), calibrated),
    ),
    _case("shift 0.05, 200+2000", (200, (2, 3), shift(0.05)), (2000, (2, 3), calibrated)),
    _case("shift 0.1, 1000+1000", (1000, (2, 3), calibrated), (1000, (2, 3), shift(0.1))),
    _case(
        "slope 1.5 vs 0.6, 400+400",
        (400, (2, 2), slope(1.5)),
        (400, (1.5, 3), slope(0.6)),
    ),
    _case("square vs calibrated, 500+500", (500, (2, 2), square), (500, (2, 2), calibrated)),
    _case("rare outcome, 50+50", (50, (1, 9), calibrated), (50, (1, 9), calibrated)),
    _case("rare outcome, 40+2000, shift", (40, (1, 9), shift(0.03)), (2000, (1, 9), calibrated)),
    _case("5 calibrated of 300", *[(300, (2, 3), calibrated)] * 5),
    _case(
        "4 groups 50–5000, mixed",
        (50, (2, 3), calibrated),
        (200, (2, 3), shift(0.04)),
        (1000, (3, 2), slope(1.2)),
        (5000, (2, 3), shift(-0.02)),
    ),
)


def true_gaps(case: Case, seed: int = 7) -> list[float]:
    rng = np.random.default_rng(seed)
    gaps = []
    for group in case.groups:
        scores = rng.beta(*group.beta, 4_000_000)
        gaps.append(float(scores.mean() - group.link(scores).mean()))
    return gaps


def draw_window(case: Case, rng: np.random.Generator) -> dict[tuple[str, str], GroupCounts]:
    counts = {}
    for index, group in enumerate(case.groups):
        scores = rng.beta(*group.beta, group.size)
        labels = (rng.random(group.size) < group.link(scores)).astype(np.int64)
        matrix = count_batch(
            np.zeros(group.size, dtype=np.int64), 1, (scores >= 0.5).astype(np.int64), labels,
            scores, score_bins=10,
        )  # fmt: skip
        counts[("g", f"g{index}")] = GroupCounts.from_row(matrix[0])
    return counts


def run(case: Case, windows: int, seed: int) -> tuple[float, float, float, float]:
    gaps = true_gaps(case)
    truth = max(gaps) - min(gaps)
    rng = np.random.default_rng(seed)
    config = EngineConfig(min_group_size=0, metrics=("calibration_difference",))
    covered = breaches = 0
    widths = []
    for _ in range(windows):
        evaluation = evaluate("m", "w", 0.0, 1.0, draw_window(case, rng), config)
        (disparity,) = evaluation.disparities[:1]
        assert disparity.ci_low is not None and disparity.ci_high is not None
        covered += disparity.ci_low <= truth <= disparity.ci_high
        breaches += disparity.status == "breach"
        widths.append(disparity.ci_high - disparity.ci_low)
    return truth, covered / windows, float(np.mean(widths)), breaches / windows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20240611)
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    print(f"{'case':<40} {'true D':>7} {'coverage':>9} {'width':>7} {'breach':>7}")
    started = time.perf_counter()
    for case in CASES:
        if args.only not in case.name:
            continue
        truth, coverage, width, breach = run(case, args.windows, args.seed)
        print(
            f"{case.name:<40} {truth:7.3f} {coverage:9.1%} {width:7.3f} {breach:7.1%}",
            flush=True,
        )
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
