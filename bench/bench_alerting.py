"""Alert quality on simulated traffic: false firings and detection delay, per rule mode.

Traffic: two groups A and B, each with a Poisson(100) number of predictions per 5 minutes;
group B selects at the base rate, group A at base + gap. The rule: ``demographic_parity_difference
> 0.10``, ``clear_threshold: 0.07``.

* ``sequential``: a rule with that condition and the defaults a new user gets (no ``mode``,
  which on a 5m tumbling window is ``sequential``; ``arl`` 12h, ``resolve_arl`` 1d, no
  ``for``; ``--arl 30d`` for the stricter setting). The
  simulation runs ``alerting.sequential``'s own functions (e-values, detector steps, alarm and
  resolve statistics) for a batch of independent streams at once, with the levels the rule's
  config gives; a check first replays one stream through ``rules.observe`` and
  ``lifecycle.evaluate`` and requires the same firings and resolves.
* ``point`` and ``confident`` on 1h/5m windows, for comparison, with ``for: 2 evaluations``
  (two consecutive, overlapping evaluations: what users measured) and with ``for: 2 windows``
  (the breach holds from one window to the next one that does not overlap it). ``confident``
  uses a normal interval for the difference of the two rates in place of the engine's
  Jeffreys-draw interval (close to it at these sizes, not identical).

Printed: firings per 30 days at true gaps 0.05, 0.08 and 0.10 (``--months`` simulated months
each); for ``sequential`` also its detector's alarms per 30 days when it restarts at once after
each alarm (what the ARL guarantee bounds); the delay (median and p90) from a jump of the gap
from 0.05 to 0.15 and to 0.20 until the firing (``--changes`` change points, each after a day at
0.05); the information limit of each jump; all at base rates 0.2 and 0.5.

Run: ``python bench/bench_alerting.py`` (about 30 s; ``--months 20 --changes 200`` is quicker).
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from alerting.config import RuleConfig, parse_alerting_config
from alerting.lifecycle import evaluate
from alerting.model import AlertState
from alerting.rules import observe
from alerting.sequential import (
    DetectorSpec,
    advance,
    alarm_statistic,
    log_e_values,
    resolve_statistic,
)
from monitor.engine.results import Disparity, GroupResult, WindowEvaluation

STEP = 300.0  # seconds: 5-minute steps
STEPS_PER_MONTH = int(30 * 86400 / STEP)  # 8,640
PER_GROUP = 100  # mean predictions per group per step
THRESHOLD, CLEAR = 0.10, 0.07
WINDOW_STEPS = 12  # the point and confident rules' 1h/5m window
WARM_UP = 288  # a day at gap 0.05 before each change point
HORIZON = 864  # a change not paged within 3 days counts as missed
BASE_RATES = (0.2, 0.5)
GAPS = (0.05, 0.08, 0.10)
JUMPS = (0.15, 0.20)
FIXES = (0.05, 0.0)

Rates = Callable[[int], tuple[float, float]]  # step -> (rate of A, rate of B)


def sequential_rule(arl: str | None = None) -> RuleConfig:
    """The rule a new user writes: the condition, the clear threshold and the window; the mode
    is left out, so it is the default (sequential, for this rule); ``arl`` when given."""
    rule: dict[str, object] = {
        "name": "dp-default",
        "selector": {"window": "5m"},
        "condition": f"demographic_parity_difference > {THRESHOLD}",
        "clear_threshold": CLEAR,
    }
    if arl is not None:
        rule["arl"] = arl
    config = parse_alerting_config({"rules": [rule]})
    rule = config.rules[0]
    assert rule.mode == "sequential", rule.mode
    return rule


@dataclass
class Traffic:
    """One step of counts of a batch of independent streams (A and B: selected, total)."""

    selected_a: np.ndarray
    total_a: np.ndarray
    selected_b: np.ndarray
    total_b: np.ndarray


def draw(rng: np.random.Generator, streams: int, rate_a: float, rate_b: float) -> Traffic:
    total_a = rng.poisson(PER_GROUP, streams)
    total_b = rng.poisson(PER_GROUP, streams)
    return Traffic(rng.binomial(total_a, rate_a), total_a, rng.binomial(total_b, rate_b), total_b)


# sequential --------------------------------------------------------------------------------


class SequentialBatch:
    """The sequential rule on a batch of streams: two arms (A over B, B over A) × λ per stream,
    in the alarm phase (not firing) or the resolve phase (firing), as ``sequential.judge`` and
    ``lifecycle.evaluate`` run them (``for`` 0: the alarm fires at once)."""

    def __init__(self, spec: DetectorSpec, streams: int, restart_only: bool = False) -> None:
        self.spec = spec
        self.restart_only = restart_only  # True: restart at each alarm, never resolve
        shape = (streams, 2, len(spec.lambdas))
        self.alarm = np.zeros(shape)
        self.resolve = np.zeros(shape)
        self.firing = np.zeros(streams, dtype=bool)

    def step(self, traffic: Traffic) -> tuple[np.ndarray, np.ndarray]:
        """Advance one step; returns (fired now, resolved now) per stream."""
        spec = self.spec
        counts = (traffic.selected_a, traffic.total_a, traffic.selected_b, traffic.total_b)
        fired = np.zeros_like(self.firing)
        resolved = np.zeros_like(self.firing)
        watching = ~self.firing
        if watching.any():
            a, n_a, b, n_b = (values[watching] for values in counts)
            log_e = np.stack(
                [
                    log_e_values(a, n_a, b, n_b, spec.threshold, spec.lambdas, 1),
                    log_e_values(b, n_b, a, n_a, spec.threshold, spec.lambdas, 1),
                ],
                axis=1,
            )
            self.alarm[watching] = advance(self.alarm[watching], log_e)
            fired[watching] = alarm_statistic(self.alarm[watching]) >= spec.alarm_level
        if self.restart_only:
            self.alarm[fired] = 0.0
            return fired, resolved
        firing = self.firing.copy()
        if firing.any():
            a, n_a, b, n_b = (values[firing] for values in counts)
            log_e = np.stack(
                [
                    log_e_values(a, n_a, b, n_b, spec.clear, spec.lambdas, -1),
                    log_e_values(b, n_b, a, n_a, spec.clear, spec.lambdas, -1),
                ],
                axis=1,
            )
            self.resolve[firing] = advance(self.resolve[firing], log_e)
            resolved[firing] = resolve_statistic(self.resolve[firing]) >= spec.resolve_level
        # a phase starts from nothing: the resolve detector at firing, the alarm one at resolving
        self.resolve[fired] = 0.0
        self.alarm[resolved] = 0.0
        self.firing = (self.firing | fired) & ~resolved
        return fired, resolved


# point and confident -------------------------------------------------------------------------


class WindowBatch:
    """A point or confident rule on 1h/5m sliding windows with ``for: 2 windows``
    (``overlapping=False``: windows that do not overlap) or ``for: 2 evaluations``
    (``overlapping=True``: consecutive evaluations)."""

    def __init__(self, mode: str, streams: int, overlapping: bool, for_windows: int = 2) -> None:
        self.mode = mode
        self.overlapping = overlapping
        self.for_windows = for_windows
        self.panes = np.zeros((WINDOW_STEPS, 4, streams))
        self.seen = 0
        self.count = np.zeros(streams, dtype=int)
        self.counted_until = np.full(streams, -(10**9))  # step index a counted window ends
        self.firing = np.zeros(streams, dtype=bool)

    def step(self, traffic: Traffic) -> tuple[np.ndarray, np.ndarray]:
        counts = (traffic.selected_a, traffic.total_a, traffic.selected_b, traffic.total_b)
        self.panes[self.seen % WINDOW_STEPS] = np.stack(counts)
        now = self.seen
        self.seen += 1
        nothing = np.zeros_like(self.firing)
        if self.seen < WINDOW_STEPS:
            return nothing, nothing
        selected_a, total_a, selected_b, total_b = self.panes.sum(axis=0)
        rate_a, rate_b = selected_a / total_a, selected_b / total_b
        value = np.abs(rate_a - rate_b)
        if self.mode == "confident":
            error = np.sqrt(rate_a * (1 - rate_a) / total_a + rate_b * (1 - rate_b) / total_b)
            breach = value - 1.96 * error > THRESHOLD
        else:
            breach = value > THRESHOLD
        clear = value < CLEAR
        start = now - WINDOW_STEPS + 1  # the window holds steps start..now
        # `evaluations`: every breaching evaluation counts; `windows`: only a window that starts
        # after the last one counted
        counts_now = breach if self.overlapping else breach & (start > self.counted_until)
        self.count = np.where(breach, self.count + counts_now, 0)
        self.counted_until = np.where(
            breach, np.where(counts_now, now, self.counted_until), -(10**9)
        )
        fired = ~self.firing & breach & (self.count >= self.for_windows)
        resolved = self.firing & clear
        self.firing = (self.firing | fired) & ~resolved
        return fired, resolved


# experiments ----------------------------------------------------------------------------------

Batch = SequentialBatch | WindowBatch


def firings_per_month(
    make: Callable[[int], Batch], base: float, gap: float, months: int, seed: int
) -> float:
    """Firings per 30 days of streams at a constant ``gap``: ``months`` streams of 30 days."""
    rng = np.random.default_rng(seed)
    batch = make(months)
    total = 0
    for _ in range(STEPS_PER_MONTH):
        fired, _ = batch.step(draw(rng, months, base + gap, base))
        total += int(fired.sum())
    return total / months


def delays(
    make: Callable[[int], Batch], base: float, jump: float, changes: int, seed: int
) -> tuple[np.ndarray, int, int]:
    """Hours from a jump of the gap 0.05 → ``jump`` until the rule fires, one per change point
    (a day at 0.05 first); also how many fired before the change and how many missed it."""
    rng = np.random.default_rng(seed)
    batch = make(changes)
    early = np.zeros(changes, dtype=bool)
    for _ in range(WARM_UP):
        fired, _ = batch.step(draw(rng, changes, base + 0.05, base))
        early |= fired
    waiting = ~early & ~batch.firing
    found = np.full(changes, np.nan)
    for step in range(HORIZON):
        fired, _ = batch.step(draw(rng, changes, base + jump, base))
        found[waiting & fired] = (step + 1) * STEP / 3600
        waiting &= ~fired
        if not waiting.any():
            break
    measured = found[~early]
    return measured[~np.isnan(measured)], int(early.sum()), int(np.isnan(measured).sum())


def resolve_delays(
    make: Callable[[int], Batch], base: float, fixed: float, changes: int, seed: int
) -> tuple[np.ndarray, int]:
    """Hours from a fix (the gap of a firing alert falls from 0.25 to ``fixed``) until the alert
    resolves, one per stream (firing after up to 12 hours at 0.25); also how many missed 3 days."""
    rng = np.random.default_rng(seed)
    batch = make(changes)
    for _ in range(144):
        batch.step(draw(rng, changes, base + 0.25, base))
    waiting = batch.firing.copy()
    found = np.full(changes, np.nan)
    for step in range(HORIZON):
        _, resolved = batch.step(draw(rng, changes, base + fixed, base))
        found[waiting & resolved] = (step + 1) * STEP / 3600
        waiting &= ~resolved
        if not waiting.any():
            break
    return found[~np.isnan(found)], int(waiting.sum())


def information(base: float, jump: float) -> float:
    """Nats per step telling gap ``jump`` from the nearest gap at the threshold: the smallest
    Kullback–Leibler divergence of two binomial(100) groups at (base + jump, base) from any
    pair of rates whose difference is 0.10."""
    high, low = base + jump, base

    def kl(p: float, q: float) -> float:
        return p * math.log(p / q) + (1 - p) * math.log((1 - p) / (1 - q))

    shifts = np.linspace(-(jump - THRESHOLD), 0.0, 2001)
    return PER_GROUP * min(
        kl(high, high + s) + kl(low, low + s + (jump - THRESHOLD)) for s in shifts
    )


# the cross-check: the batch simulation is the rule -----------------------------------------


def evaluation_of(traffic: Traffic, index: int, step: int) -> WindowEvaluation:
    """Stream ``index`` of ``traffic`` as the engine's evaluation of one 5m window."""
    groups = []
    for name, selected, total in (
        ("A", traffic.selected_a[index], traffic.total_a[index]),
        ("B", traffic.selected_b[index], traffic.total_b[index]),
    ):
        rate = float(selected / total) if total else None
        groups.append(
            GroupResult(
                attribute="group", group=name, n=int(total), n_labeled=0,
                predicted_positive=int(selected), tp=0, fp=0, tn=0, fn=0,
                rates={"selection_rate": rate}, intervals={"selection_rate": None},
            )
        )  # fmt: skip
    rates = [g.rates["selection_rate"] for g in groups]
    value = None if None in rates else abs(float(rates[0]) - float(rates[1]))  # type: ignore[arg-type]
    disparity = Disparity(
        attribute="group", metric="demographic_parity_difference", value=value, ci_low=None,
        ci_high=None, min_group_n=min(g.n for g in groups),
        status="ok" if value is not None else "not_computable", threshold=THRESHOLD,
    )  # fmt: skip
    end = (step + 1) * STEP
    return WindowEvaluation("m", "5m", end - STEP, end, tuple(groups), (disparity,))


def cross_check(rule: RuleConfig, seed: int) -> int:
    """Replay streams through ``rules.observe`` and ``lifecycle.evaluate`` next to the batch
    simulation; raise unless both fire and resolve at the same steps. Returns the transitions."""
    streams, steps = 4, 2 * 288
    rng = np.random.default_rng(seed)
    batch = SequentialBatch(rule.detector(), streams)
    states: list[AlertState | None] = [None] * streams
    transitions = 0
    for step in range(steps):
        gap = 0.05 if (step // 96) % 2 == 0 else 0.25  # 8 hours at 0.05, 8 hours at 0.25
        traffic = draw(rng, streams, 0.3 + gap, 0.3)
        fired, resolved = batch.step(traffic)
        for index in range(streams):
            (observation,) = observe([rule], evaluation_of(traffic, index, step))
            before = states[index]
            state = evaluate(before, observation, (step + 1) * STEP)
            states[index] = state
            was = before.status if before else "inactive"
            now_fired = was != "firing" and state.status == "firing"
            now_resolved = was == "firing" and state.status == "resolved"
            if (now_fired, now_resolved) != (bool(fired[index]), bool(resolved[index])):
                raise AssertionError(f"stream {index} step {step}: the rule and the batch differ")
            transitions += now_fired + now_resolved
    return transitions


# report ----------------------------------------------------------------------------------------


def hours(values: np.ndarray, quantile: float) -> str:
    return f"{np.quantile(values, quantile):5.2f} h" if values.size else "   —   "


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--months", type=int, default=60, help="simulated months per gap")
    parser.add_argument("--changes", type=int, default=400, help="change points per jump")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--arl", help="the sequential rule's arl (default: the rule's default, 12h): the trade-off"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()

    rule = sequential_rule(args.arl)
    spec = rule.detector()
    arl_days = spec.alarm_level * STEP / 86400
    transitions = cross_check(rule, args.seed)
    arms = 2 * len(spec.lambdas)
    print(
        f"sequential rule: 5m tumbling window, arl {arl_days:g}d = {spec.alarm_level:,.0f} steps, "
        f"resolve_arl 1d = {spec.resolve_level:,.0f} steps, λ {spec.lambdas}, {arms} arms\n"
        f"  guarantee: whenever every gap is at or below {THRESHOLD}, the mean time to a false "
        f"alarm is at least {spec.alarm_level:,.0f} steps ({arl_days:g} days): at most "
        f"{30 / arl_days:g} per 30 days on average, however long it runs;\n"
        f"  a firing alert resolves while a gap is still at or above {CLEAR} at most once per "
        f"{spec.resolve_level:,.0f} steps (1 day) on average\n"
        f"  cross-check: rules.observe + lifecycle.evaluate on 4 streams × 2 days = the batch "
        f"simulation ({transitions} fires/resolves)\n"
    )

    modes: list[tuple[str, Callable[[int], Batch]]] = [
        ("sequential", lambda streams: SequentialBatch(spec, streams)),
        ("point, for: 2 windows", lambda streams: WindowBatch("point", streams, False)),
        ("point, for: 2 evaluations", lambda streams: WindowBatch("point", streams, True)),
        ("confident, for: 2 windows", lambda streams: WindowBatch("confident", streams, False)),
        ("confident, for: 2 evaluations", lambda s: WindowBatch("confident", s, True)),
    ]
    restart = ("sequential: alarms, restarted", lambda s: SequentialBatch(spec, s, True))
    for base in BASE_RATES:
        print(f"base rate {base} (group B {base}, group A {base} + gap), 100 ± 10 per group per 5m")
        header = "  " + f"{'mode':32}" + "".join(f" gap {gap:.2f}" for gap in GAPS)
        print(header + "   firings per 30 days" + f" ({args.months} months each)")
        for name, make in [modes[0], restart, *modes[1:]]:
            rates = [
                firings_per_month(make, base, gap, args.months, args.seed + index)
                for index, gap in enumerate(GAPS)
            ]
            print("  " + f"{name:32}" + "".join(f" {rate:9.2f}" for rate in rates))
        for jump in JUMPS:
            limit = information(base, jump)
            lorden = math.log(spec.alarm_level) / limit * STEP / 3600
            print(
                f"  jump 0.05 → {jump:.2f}: {limit:.2f} nats per step; an ARL of {arl_days:g} "
                f"days needs about log({spec.alarm_level:,.0f})/{limit:.2f} = {lorden:.1f} h on "
                "average (Lorden)"
            )
            for name, make in modes:
                found, early, missed = delays(make, base, jump, args.changes, args.seed + 7)
                print(
                    f"    {name:30} median {hours(found, 0.5)}  p90 {hours(found, 0.9)}"
                    f"  ({found.size} paged, {early} fired before the jump, {missed} missed)"
                )
        for fixed in FIXES:
            print(
                f"  fix: the gap of a firing alert falls from 0.25 to {fixed:.2f}; time to resolve"
            )
            for name, make in (modes[0], modes[1], modes[3]):
                found, missed = resolve_delays(make, base, fixed, args.changes, args.seed + 11)
                mode = name.split(",")[0]  # `for` plays no part in resolving
                print(
                    f"    {mode:30} median {hours(found, 0.5)}  p90 {hours(found, 0.9)}"
                    f"  ({missed} not resolved within 3 days)"
                )
        print()
    print(f"{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
