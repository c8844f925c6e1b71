"""``--fail-on``: a CI/CD fairness gate over an audit's disparities.

A rule is ``METRIC``, ``ATTRIBUTE:METRIC`` or ``METRIC=THRESHOLD`` (the threshold replaces the
default for that metric), several separated by commas; ``all`` means every metric and
``four_fifths`` is ``selection_rate_ratio_to_reference``. The gate fails when a disparity a rule
names has status ``breach``; ``insufficient_data`` never fails it (it is reported).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from monitor.audit.errors import RuleError
from monitor.disparities import METRIC_BY_NAME, REFERENCE_SUFFIX
from monitor.engine import SIMULATED_RATES
from monitor.results import Disparity

ALIASES = {"four_fifths": "selection_rate" + REFERENCE_SUFFIX}
KNOWN = {*METRIC_BY_NAME, *(rate + REFERENCE_SUFFIX for rate in SIMULATED_RATES)}


@dataclass(frozen=True)
class Rule:
    metric: str  # a metric name or "all"
    attribute: str | None = None
    threshold: float | None = None

    def matches(self, disparity: Disparity) -> bool:
        if self.attribute is not None and disparity.attribute != self.attribute:
            return False
        return self.metric == "all" or disparity.metric == self.metric


def parse_rules(text: str | None) -> list[Rule]:
    if not text:
        return []
    rules = []
    for part in (piece.strip() for piece in text.split(",")):
        if not part:
            continue
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
        rules.append(Rule(metric, attribute.strip() if attribute else None, threshold))
    return rules


def rule_thresholds(rules: Iterable[Rule]) -> dict[str, float]:
    """Threshold overrides to hand to the engine."""
    return {rule.metric: rule.threshold for rule in rules if rule.threshold is not None}


def describe(disparity: Disparity) -> str:
    """One line saying what breached and why."""
    where = disparity.attribute
    if disparity.group is not None:
        where += f" group {disparity.group} vs {disparity.reference_group}"
    interval = ""
    if disparity.ci_low is not None and disparity.ci_high is not None:
        interval = f" (CI {disparity.ci_low:.3f}–{disparity.ci_high:.3f})"
    if disparity.metric.endswith(REFERENCE_SUFFIX) and disparity.threshold:
        bound = f"outside [{disparity.threshold:g}, {1 / disparity.threshold:.4g}]"
    elif disparity.metric.endswith("_ratio"):
        bound = f"below threshold {disparity.threshold:g}"
    else:
        bound = f"above threshold {disparity.threshold:g}"
    value = "undefined" if disparity.value is None else f"{disparity.value:.3f}"
    return f"{where}: {disparity.metric} = {value}{interval} {bound} ({disparity.mode} mode)"


def failures(disparities: Sequence[Disparity], rules: Sequence[Rule]) -> list[str]:
    """Reasons the gate fails (empty when it passes)."""
    return [
        describe(disparity)
        for disparity in disparities
        if disparity.status == "breach" and any(rule.matches(disparity) for rule in rules)
    ]
