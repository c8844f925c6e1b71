"""The CI/CD fairness gate of ``fairwatch audit``: one PASS, FAIL or UNDECIDED verdict per rule.

``--fail-on`` rules are ``METRIC``, ``ATTRIBUTE:METRIC`` or ``METRIC=THRESHOLD`` (the threshold
replaces the default for that metric), several separated by commas; ``all`` means every metric
and ``four_fifths`` is ``selection_rate_ratio_to_reference``. A rule's verdict comes from the
statuses of the disparities it names: FAIL when one is a ``breach``, UNDECIDED when none is
but one cannot be judged (``undecided``: the interval straddles the threshold;
``not_computable``: fewer than two groups with enough data), PASS otherwise. Two more checks:
``--min-accuracy X`` (the accuracy overall and of every group with enough labeled rows, judged
like a disparity: in confident mode by its interval) and ``--min-group-size N`` (every group
has at least N rows; a smaller one fails, named). The gate fails on a FAIL, and on an UNDECIDED
unless ``--allow-insufficient`` is given.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from fairwatch.audit.errors import RuleError
from monitor.engine.disparities import METRIC_BY_NAME, REFERENCE_SUFFIX
from monitor.engine.evaluate import SIMULATED_RATES
from monitor.engine.intervals import wilson_interval
from monitor.engine.results import Disparity, GroupResult, Mode

ALIASES = {"four_fifths": "selection_rate" + REFERENCE_SUFFIX}
KNOWN = {*METRIC_BY_NAME, *(rate + REFERENCE_SUFFIX for rate in SIMULATED_RATES)}
Verdict = Literal["PASS", "FAIL", "UNDECIDED"]


@dataclass(frozen=True)
class Rule:
    metric: str  # a metric name or "all"
    attribute: str | None = None
    threshold: float | None = None
    text: str = ""  # the rule as written

    def matches(self, disparity: Disparity) -> bool:
        if self.attribute is not None and disparity.attribute != self.attribute:
            return False
        return self.metric == "all" or disparity.metric == self.metric


@dataclass(frozen=True)
class RuleResult:
    """The verdict on one rule or check, with one reason per disparity or group behind it."""

    rule: str
    verdict: Verdict
    summary: str
    reasons: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        return [f"{self.verdict:<9} {self.rule}: {self.summary}", *(f"  {r}" for r in self.reasons)]


@dataclass(frozen=True)
class GateResult:
    """Every rule's verdict; ``failed`` when one is FAIL, or UNDECIDED without
    ``allow_insufficient``."""

    results: tuple[RuleResult, ...]
    allow_insufficient: bool = False

    @property
    def failed(self) -> bool:
        blocking = {"FAIL"} if self.allow_insufficient else {"FAIL", "UNDECIDED"}
        return any(result.verdict in blocking for result in self.results)

    def count(self, verdict: Verdict) -> int:
        return sum(result.verdict == verdict for result in self.results)

    def failures(self) -> list[str]:
        """The lines of the rules that make the gate fail (what a CI log needs first)."""
        blocking = {"FAIL"} if self.allow_insufficient else {"FAIL", "UNDECIDED"}
        return [
            line for result in self.results if result.verdict in blocking for line in result.lines()
        ]

    def lines(self) -> list[str]:
        return [line for result in self.results for line in result.lines()]

    def headline(self) -> str:
        state = "failed" if self.failed else "passed"
        allowed = self.allow_insufficient and self.count("UNDECIDED") > 0
        return (
            f"fairness gate {state}: {self.count('FAIL')} failed, "
            f"{self.count('UNDECIDED')} undecided, {self.count('PASS')} passed"
            + (" (undecided allowed)" if allowed else "")
        )


def parse_rules(text: str | None) -> list[Rule]:
    if not text:
        return []
    rules = []
    for part in (piece.strip() for piece in text.split(",")):
        if not part:
            continue
        written = part
        threshold: float | None = None
        if "=" in part:
            part, _, raw = part.partition("=")
            try:
                threshold = float(raw)
            except ValueError:
                raise RuleError(
                    f"--fail-on: threshold {raw!r} of {part!r} is not a number"
                ) from None
        attribute: str | None = None
        if ":" in part:
            attribute, _, part = part.partition(":")
        metric = ALIASES.get(part.strip(), part.strip())
        if metric != "all" and metric not in KNOWN:
            raise RuleError(
                f"--fail-on: unknown metric {metric!r}; known: all, four_fifths, "
                + ", ".join(sorted(KNOWN))
            )
        if threshold is not None and (attribute or metric == "all"):
            raise RuleError(f"--fail-on: a threshold applies to one metric: write {metric}=VALUE")
        rules.append(Rule(metric, attribute.strip() if attribute else None, threshold, written))
    return rules


def check_attributes(rules: Iterable[Rule], attributes: Iterable[str]) -> None:
    """A rule naming an attribute that is not audited is an error (a typo must not pass)."""
    known = list(attributes)
    for rule in rules:
        if rule.attribute is not None and rule.attribute not in known:
            raise RuleError(
                f"--fail-on: {rule.text!r} names attribute {rule.attribute!r}, which is not "
                f"audited; audited: {', '.join(known)}"
            )


def rule_thresholds(rules: Iterable[Rule]) -> dict[str, float]:
    """Threshold overrides to hand to the engine."""
    return {rule.metric: rule.threshold for rule in rules if rule.threshold is not None}


def describe(disparity: Disparity) -> str:
    """One line saying what a disparity's status is and why, and who it is about."""
    where = disparity.attribute
    if disparity.group is not None:
        where += f" group {disparity.group} vs {disparity.reference_group}"
    interval = ""
    if disparity.ci_low is not None and disparity.ci_high is not None:
        interval = f" (CI {disparity.ci_low:.3f}–{disparity.ci_high:.3f})"
    if disparity.metric.endswith(REFERENCE_SUFFIX) and disparity.threshold:
        bound = f"[{disparity.threshold:g}, {1 / disparity.threshold:.4g}]"
        side = {"breach": "outside", "ok": "inside", "undecided": "across the edge of"}
    elif disparity.metric.endswith("_ratio"):
        bound = f"threshold {disparity.threshold:g}"
        side = {"breach": "below", "ok": "above", "undecided": "across"}
    else:
        bound = f"threshold {disparity.threshold:g}"
        side = {"breach": "above", "ok": "below", "undecided": "across"}
    value = "undefined" if disparity.value is None else f"{disparity.value:.3f}"
    if disparity.status == "not_computable":
        verdict = "not computable" + (
            " (fewer than two groups with enough data)" if disparity.group is None else ""
        )
    else:
        verdict = f"{side[disparity.status]} {bound} ({disparity.mode} mode)"
    text = f"{where}: {disparity.metric} = {value}{interval} {verdict}"
    own_ratio = disparity.group is not None and disparity.group == disparity.reference_group
    if disparity.extremes and not own_ratio:
        text += f"; {disparity.extremes}"
    if disparity.small_groups:
        text += f"; left out (too few rows): {', '.join(disparity.small_groups)}"
    return text


def judge_rule(rule: Rule, disparities: Sequence[Disparity]) -> RuleResult:
    matched = [disparity for disparity in disparities if rule.matches(disparity)]
    statuses = [disparity.status for disparity in matched]
    counts = {status: statuses.count(status) for status in dict.fromkeys(statuses)}
    summary = ", ".join(f"{count} {status.replace('_', ' ')}" for status, count in counts.items())
    if not matched:
        return RuleResult(rule.text, "UNDECIDED", "no disparity matches")
    verdict: Verdict = "PASS"
    if "breach" in counts:
        verdict = "FAIL"
    elif "undecided" in counts or "not_computable" in counts:
        verdict = "UNDECIDED"
    shown = [d for d in matched if d.status != "ok"] if verdict != "PASS" else []
    return RuleResult(rule.text, verdict, summary, tuple(describe(d) for d in shown))


def _judge_minimum(
    value: float | None, low: float | None, high: float | None, minimum: float, mode: Mode
) -> Verdict:
    if value is None:
        return "UNDECIDED"
    if mode == "point" or low is None or high is None:
        return "FAIL" if value < minimum else "PASS"
    if high < minimum:
        return "FAIL"
    return "PASS" if low >= minimum else "UNDECIDED"


def check_min_accuracy(
    groups: Sequence[GroupResult],
    minimum: float,
    mode: Mode,
    min_group_size: int,
    ci_level: float,
) -> RuleResult:
    """Accuracy overall and of every group with at least ``min_group_size`` labeled rows must
    reach ``minimum`` (smaller groups are named, not judged)."""
    rule = f"min-accuracy {minimum:g}"
    first = groups[0].attribute if groups else None
    overall = [g for g in groups if g.attribute == first]  # one attribute covers every row
    right = sum(g.tp + g.tn for g in overall)
    labeled = sum(g.n_labeled for g in overall)
    verdicts: list[tuple[Verdict, str]] = []
    if labeled:
        low, high = wilson_interval(np.array([right]), np.array([labeled]), ci_level)
        verdict = _judge_minimum(right / labeled, float(low[0]), float(high[0]), minimum, mode)
        text = (
            f"overall accuracy {right / labeled:.3f} "
            f"(CI {low[0]:.3f}–{high[0]:.3f}, {labeled:,} labeled rows)"
        )
        verdicts.append((verdict, text))
    else:
        verdicts.append(("UNDECIDED", "no labeled rows: accuracy is undefined"))
    small = []
    for group in groups:
        accuracy, interval = group.rates.get("accuracy"), group.intervals.get("accuracy")
        if group.n_labeled < max(min_group_size, 1) or accuracy is None:
            small.append(f"{group.attribute} {group.group} ({group.n_labeled} labeled)")
            continue
        low_g, high_g = interval if interval is not None else (None, None)
        verdict = _judge_minimum(accuracy, low_g, high_g, minimum, mode)
        ci = "" if interval is None else f" (CI {interval[0]:.3f}–{interval[1]:.3f})"
        verdicts.append((verdict, f"{group.attribute} {group.group}: accuracy {accuracy:.3f}{ci}"))
    worst = _worst(verdict for verdict, _text in verdicts)
    reasons = [text for verdict, text in verdicts if verdict != "PASS"]
    if small:
        reasons.append("not judged (too few labeled rows): " + ", ".join(small))
    judged = len(verdicts) - 1
    return RuleResult(rule, worst, f"{verdicts[0][1]}; {judged} group(s) judged", tuple(reasons))


def check_min_group_size(groups: Sequence[GroupResult], minimum: int) -> RuleResult:
    """Every group must have at least ``minimum`` rows; each smaller one is named."""
    small = [g for g in groups if g.n < minimum]
    reasons = tuple(f"{g.attribute}: {g.group} has {g.n:,} rows (< {minimum})" for g in small)
    summary = f"{len(small)} of {len(groups)} group(s) below {minimum} rows"
    return RuleResult(f"min-group-size {minimum}", "FAIL" if small else "PASS", summary, reasons)


def _worst(verdicts: Iterable[Verdict]) -> Verdict:
    seen = set(verdicts)
    return "FAIL" if "FAIL" in seen else "UNDECIDED" if "UNDECIDED" in seen else "PASS"


def run_gate(
    disparities: Sequence[Disparity],
    groups: Sequence[GroupResult],
    rules: Sequence[Rule],
    *,
    mode: Mode,
    min_group_size: int,
    ci_level: float,
    min_accuracy: float | None = None,
    required_group_size: int | None = None,
    allow_insufficient: bool = False,
) -> GateResult:
    """Every requested check, in the order: ``--fail-on`` rules, accuracy, group sizes."""
    results = [judge_rule(rule, disparities) for rule in rules]
    if min_accuracy is not None:
        results.append(check_min_accuracy(groups, min_accuracy, mode, min_group_size, ci_level))
    if required_group_size is not None:
        results.append(check_min_group_size(groups, required_group_size))
    return GateResult(tuple(results), allow_insufficient)
