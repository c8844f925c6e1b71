"""Coverage of the disparity intervals: how often a 95% interval contains the true disparity.

For each case of the grid (group sizes, true rates), ``--windows`` windows (default 1,000) are
drawn from the binomial model with a fixed seed: a group of ``n`` predictions has
``Binomial(n, prevalence)`` labeled positives, ``Binomial(positives, tpr)`` true positives and
``Binomial(negatives, fpr)`` false positives. Each window is evaluated by the engine
(``min_group_size`` 0, reference group ``g0``) and every disparity's interval is checked against
the true value computed from the rates. A cell is the share of windows whose interval covers
the truth ("—" where the true value or the interval is undefined in most windows); the width
table is the mean ``ci_high − ci_low``. The grid takes 2–3 minutes on one core.

Run: ``python bench/bench_coverage.py``; ``--only TEXT`` runs the cases whose name contains it,
``--json FILE`` saves the figures and ``--before FILE`` shows a saved run (e.g. of an older
checkout, run with ``PYTHONPATH`` pointing at it) next to this one. docs/metrics.md's coverage
table comes from this output.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass

import numpy as np

from monitor.engine.counts import GroupCounts
from monitor.engine.evaluate import EngineConfig, evaluate

PREVALENCE = 0.4  # share of labeled positives, where a case does not say otherwise


@dataclass(frozen=True)
class Case:
    """True model of one window: per group its size, prevalence, TPR and FPR."""

    name: str
    sizes: tuple[int, ...]
    tpr: tuple[float, ...]
    fpr: tuple[float, ...]
    prevalence: tuple[float, ...]


def case(
    name: str,
    sizes: list[int],
    tpr: float | list[float],
    fpr: float | list[float],
    prevalence: float | list[float] = PREVALENCE,
) -> Case:
    count = len(sizes)

    def spread(value: float | list[float]) -> tuple[float, ...]:
        values = [value] * count if isinstance(value, float | int) else value
        assert len(values) == count, name
        return tuple(float(v) for v in values)

    return Case(name, tuple(sizes), spread(tpr), spread(fpr), spread(prevalence))


def level(name: str, sizes: list[int], rates: float | list[float]) -> Case:
    """A case where TPR = FPR = the given rate, so the selection rate is that rate too."""
    return case(name, sizes, rates, rates)


MIXED4 = [20, 50, 200, 5000]
MIXED8 = [20, 30, 50, 100, 200, 1000, 3000, 5000]

CASES = [
    case("2 equal, 200+200", [200, 200], 0.7, 0.2),
    case("2 equal, 50+5000", [50, 5000], 0.7, 0.2),
    case("2 different, 200+200", [200, 200], [0.6, 0.8], [0.15, 0.3], [0.4, 0.5]),
    case("2 different, 50+5000", [50, 5000], [0.6, 0.8], [0.15, 0.3], [0.4, 0.5]),
    case("2 different, 20+5000", [20, 5000], [0.6, 0.8], [0.15, 0.3], [0.4, 0.5]),
    level("rate 0, 50+50", [50, 50], 0.0),
    level("rate 0 vs 0.1, 50+5000", [50, 5000], [0.0, 0.1]),
    level("rate 0 vs 0.1, 20+200", [20, 200], [0.0, 0.1]),
    level("rate 0.01, 50+5000", [50, 5000], 0.01),
    level("rate 0.01 vs 0.05, 200+5000", [200, 5000], [0.01, 0.05]),
    level("rate 0.01 vs 0.05, 50+50", [50, 50], [0.01, 0.05]),
    level("rate 0.5, 20+20", [20, 20], 0.5),
    level("rate 0.99, 50+5000", [50, 5000], 0.99),
    level("rate 0.99 vs 1, 50+200", [50, 200], [0.99, 1.0]),
    level("rate 1, 50+5000", [50, 5000], 1.0),
    case("sizes 20/50/200/5000, equal", MIXED4, 0.7, 0.2),
    case("sizes 20/50/200/5000, different", MIXED4, [0.5, 0.6, 0.7, 0.8], [0.1, 0.3, 0.2, 0.15]),
    level("sizes 20/50/200/5000, rate 0.01", MIXED4, 0.01),
    case("5 groups of 200, equal", [200] * 5, 0.7, 0.2),
    case("5 groups of 200, different", [200] * 5, [0.5, 0.6, 0.7, 0.75, 0.8], 0.2),
    level("5 groups of 50, rate 0.01", [50] * 5, 0.01),
    case("8 groups of 1000, equal", [1000] * 8, 0.7, 0.2),
    case("8 groups 20–5000, equal", MIXED8, 0.7, 0.2),
    case(
        "8 groups 20–5000, different",
        MIXED8,
        [0.5, 0.9, 0.6, 0.7, 0.8, 0.65, 0.75, 0.7],
        [0.05, 0.3, 0.1, 0.2, 0.15, 0.2, 0.25, 0.2],
    ),
    level("8 groups 20–5000, rates 0–1", MIXED8, [0.0, 1.0, 0.01, 0.99, 0.5, 0.3, 0.2, 0.1]),
]

ALL_CASES = list(CASES)

#: (column, metric name); reference ratios are checked for every group but the reference
COLUMNS = [
    ("DP d", "demographic_parity_difference"),
    ("DP r", "demographic_parity_ratio"),
    ("EO d", "equalized_odds_difference"),
    ("EO r", "equalized_odds_ratio"),
    ("EOp d", "equal_opportunity_difference"),
    ("EOp r", "equal_opportunity_ratio"),
    ("FNR d", "false_negative_rate_difference"),
    ("PP d", "predictive_parity_difference"),
    ("Acc d", "accuracy_difference"),
    ("Ref r", "selection_rate_ratio_to_reference"),
]


def true_rates(model: Case) -> dict[str, np.ndarray]:
    tpr, fpr, base = (np.array(v) for v in (model.tpr, model.fpr, model.prevalence))
    selection = base * tpr + (1 - base) * fpr
    with np.errstate(divide="ignore", invalid="ignore"):
        ppv = np.where(selection > 0, base * tpr / selection, np.nan)
    return {
        "selection_rate": selection,
        "tpr": tpr,
        "fpr": fpr,
        "fnr": 1 - tpr,
        "ppv": ppv,
        "accuracy": base * tpr + (1 - base) * (1 - fpr),
    }


def _difference(values: np.ndarray) -> float:
    return float(values.max() - values.min())


def _ratio(values: np.ndarray) -> float:
    return float(values.min() / values.max()) if values.max() > 0 else float("nan")


def true_values(model: Case) -> dict[str, float]:
    r = true_rates(model)
    return {
        "demographic_parity_difference": _difference(r["selection_rate"]),
        "demographic_parity_ratio": _ratio(r["selection_rate"]),
        "equalized_odds_difference": max(_difference(r["tpr"]), _difference(r["fpr"])),
        "equalized_odds_ratio": min(_ratio(r["tpr"]), _ratio(r["fpr"])),
        "equal_opportunity_difference": _difference(r["tpr"]),
        "equal_opportunity_ratio": _ratio(r["tpr"]),
        "false_negative_rate_difference": _difference(r["fnr"]),
        "predictive_parity_difference": _difference(r["ppv"]),
        "accuracy_difference": _difference(r["accuracy"]),
    }


@dataclass
class Tally:
    covered: int = 0
    defined: int = 0
    windows: int = 0
    width: float = 0.0

    def cell(self) -> tuple[float, float] | None:
        """(coverage, mean width) when the interval was defined in at least half the windows."""
        if self.defined == 0 or self.defined < self.windows / 2:
            return None
        return self.covered / self.defined, self.width / self.defined


def run_case(model: Case, windows: int, seed: int) -> dict[str, Tally]:
    rng = np.random.default_rng(seed)
    sizes = np.array(model.sizes)
    count = sizes.size
    positives = rng.binomial(sizes, model.prevalence, (windows, count))
    tp = rng.binomial(positives, model.tpr)
    fp = rng.binomial(sizes - positives, model.fpr)
    truth = true_values(model)
    selection = true_rates(model)["selection_rate"]
    config = EngineConfig(min_group_size=0, reference_groups={"g": "g0"})
    tallies = {metric: Tally() for _column, metric in COLUMNS}
    for window in range(windows):
        counts = {
            ("g", f"g{i}"): GroupCounts(
                int(sizes[i]),
                int(tp[window, i] + fp[window, i]),
                int(tp[window, i]),
                int(fp[window, i]),
                int(sizes[i] - positives[window, i] - fp[window, i]),
                int(positives[window, i] - tp[window, i]),
            )
            for i in range(count)
        }
        for disparity in evaluate("m", "w", 0, 1, counts, config).disparities:
            if disparity.metric not in tallies:
                continue
            if disparity.group is not None:  # a ratio to the reference group g0
                if selection[0] <= 0 or disparity.group == "g0":  # g0's own ratio is 1 exactly
                    continue
                value = float(selection[int(disparity.group[1:])] / selection[0])
            else:
                value = truth[disparity.metric]
            if value != value:  # the true disparity is undefined
                continue
            tally = tallies[disparity.metric]
            tally.windows += 1
            if disparity.ci_low is None or disparity.ci_high is None:
                continue
            tally.defined += 1
            tally.width += disparity.ci_high - disparity.ci_low
            tally.covered += int(disparity.ci_low - 1e-9 <= value <= disparity.ci_high + 1e-9)
    return tallies


Results = dict[str, dict[str, list[float] | None]]  # case -> metric -> [coverage, width]


def measure(windows: int, seed: int) -> Results:
    results: Results = {}
    for model in CASES:
        tallies = run_case(model, windows, seed + ALL_CASES.index(model))
        results[model.name] = {
            metric: None if (cell := tally.cell()) is None else list(cell)
            for metric, tally in tallies.items()
        }
    return results


def table(results: Results, position: int, before: Results | None, title: str) -> None:
    width = max(len(model.name) for model in CASES)
    cell = 12 if before else 6
    print(f"\n{title}" + (" (now / before)" if before else ""))
    print(f"{'case':<{width}} " + " ".join(f"{c:>{cell}}" for c, _m in COLUMNS))
    for model in CASES:
        if model.name not in results:
            continue
        row = []
        for _column, metric in COLUMNS:
            text = _format(results[model.name][metric], position)
            if before is not None:
                text += " / " + _format(before.get(model.name, {}).get(metric), position)
            row.append(f"{text:>{cell}}")
        print(f"{model.name:<{width}} " + " ".join(row))


def _format(value: list[float] | None, position: int) -> str:
    if value is None:
        return "—"
    return f"{100 * value[0]:.1f}" if position == 0 else f"{value[1]:.3f}"


def summary(results: Results, label: str) -> None:
    cells = [
        (value[0], name, metric)
        for name, metrics in results.items()
        for metric, value in metrics.items()
        if value is not None
    ]
    low, high = min(cells), max(cells)
    below = sum(coverage < 0.93 for coverage, _n, _m in cells)
    above = sum(coverage > 0.98 for coverage, _n, _m in cells)
    print(
        f"{label}: coverage {100 * low[0]:.1f}%–{100 * high[0]:.1f}% over {len(cells)} cells "
        f"({below} below 93%, {above} above 98%); lowest: {low[1]} / {low[2]}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=1000, help="windows per case")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", help="save the figures to this file")
    parser.add_argument("--before", help="figures saved by an earlier run, shown alongside")
    parser.add_argument("--only", help="run only the cases whose name contains this text")
    args = parser.parse_args()
    if args.only:
        CASES[:] = [model for model in CASES if args.only in model.name]
    start = time.perf_counter()
    results = measure(args.windows, args.seed)
    before = None
    if args.before:
        with open(args.before, encoding="utf-8") as handle:
            before = json.load(handle)
    print(f"{args.windows} windows per case, seed {args.seed}, 95% intervals")
    table(results, 0, before, "coverage %")
    table(results, 1, before, "mean width")
    print()
    summary(results, "now")
    if before:
        summary({name: before[name] for name in results if name in before}, "before")
    print(f"({time.perf_counter() - start:.0f} s)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=1)


if __name__ == "__main__":
    main()
