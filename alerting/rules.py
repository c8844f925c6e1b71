"""Rules applied to evaluated windows: which alert instances an evaluation speaks about, and what
it says about each (an ``Observation``); what a rule says of an alert (``Alert``: severity,
labels) and the snapshot receivers see."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Literal

from alerting.config import RuleConfig
from alerting.model import AlertKey, AlertSnapshot, AlertState, Observation, ObservationKind
from alerting.sequential import METRIC_RATES, RATE_COUNTS, SequentialStep, StepCount
from monitor.engine.results import Disparity, GroupResult, WindowEvaluation

LOW_VOLUME = "low_volume"
LOW_VOLUME_METRIC = "min_group_n"


def classify(rule: RuleConfig, disparity: Disparity) -> ObservationKind:
    """``breach``, ``hold`` (hysteresis band), ``clear`` or ``insufficient`` for one disparity.

    A ``not_computable`` disparity (fewer than two groups with enough data) and an undefined value
    never breach. The rule applies its own threshold and mode (the engine's status is not
    used otherwise): in ``confident`` mode the whole interval must be beyond the threshold
    (``ci_low`` for ``>``, ``ci_high`` for ``<``); an interval that is missing counts as
    insufficient. Clearing uses the point value. A ``sequential`` rule's kind is decided by the
    alert's detector in ``lifecycle.evaluate``: here it is ``insufficient``.
    """
    if rule.mode == "sequential":
        return "insufficient"
    value = disparity.value
    if disparity.status == "not_computable" or value is None:
        return "insufficient"
    condition = rule.condition
    if rule.mode == "confident":
        if disparity.ci_low is None or disparity.ci_high is None:
            return "insufficient"
        bound = disparity.ci_low if condition.upward else disparity.ci_high
        breach = condition.breached(bound)
    else:
        breach = condition.breached(value)
    if breach:
        return "breach"
    return "hold" if condition.breached(value, rule.clear) else "clear"


def extremes(disparity: Disparity) -> dict[str, Any] | None:
    """Who the disparity is about, as a JSON-ready dict (None when not computable)."""
    if disparity.rate is None or disparity.highest_group is None:
        return None
    return {
        "rate": disparity.rate,
        "highest_group": disparity.highest_group,
        "highest_rate": disparity.highest_rate,
        "lowest_group": disparity.lowest_group,
        "lowest_rate": disparity.lowest_rate,
    }


def group_stats(groups: Iterable[GroupResult], attribute: str) -> tuple[dict[str, Any], ...]:
    """Per-group statistics of ``attribute`` as JSON-ready dicts (evidence and tables)."""
    return tuple(
        {
            "group": group.group,
            "n": group.n,
            "n_labeled": group.n_labeled,
            "rates": dict(group.rates),
            "intervals": {
                name: (list(interval) if interval is not None else None)
                for name, interval in group.intervals.items()
            },
        }
        for group in groups
        if group.attribute == attribute
    )


def step_counts(
    metric: str, groups: Iterable[GroupResult], attribute: str
) -> tuple[StepCount, ...]:
    """``(rate, group, successes, trials)`` of every rate of ``metric`` and every group of
    ``attribute`` with trials: what a sequential rule's detector judges (all groups, also those
    too small for the engine's disparity: their few events are weighed as few)."""
    counts = []
    for group in groups:
        if group.attribute != attribute:
            continue
        for rate in METRIC_RATES[metric]:
            successes, trials = RATE_COUNTS[rate]
            total = sum(getattr(group, field) for field in trials)
            if total > 0:
                hits = sum(getattr(group, field) for field in successes)
                counts.append((rate, group.group, hits, total))
    return tuple(counts)


def observe(rules: Iterable[RuleConfig], evaluation: WindowEvaluation) -> list[Observation]:
    """Every observation ``evaluation`` makes for ``rules`` (disparity and low-volume alerts)."""
    observations: list[Observation] = []
    for rule in rules:
        selector = rule.selector
        spec = rule.detector() if rule.mode == "sequential" else None
        if not (
            fnmatchcase(evaluation.model_id, selector.model_id)
            and fnmatchcase(evaluation.window, selector.window)
        ):
            continue
        per_attribute: dict[str, list[Disparity]] = defaultdict(list)
        for disparity in evaluation.disparities:
            if not selector.matches(
                evaluation.model_id,
                disparity.attribute,
                disparity.metric,
                evaluation.window,
                disparity.group,
            ):
                continue
            per_attribute[disparity.attribute].append(disparity)
            ci = (
                (disparity.ci_low, disparity.ci_high)
                if disparity.ci_low is not None and disparity.ci_high is not None
                else None
            )
            observations.append(
                Observation(
                    key=AlertKey(
                        rule.name,
                        evaluation.model_id,
                        disparity.attribute,
                        disparity.metric,
                        evaluation.window,
                        disparity.group,
                    ),
                    kind=classify(rule, disparity),
                    window_start=evaluation.window_start,
                    window_end=evaluation.window_end,
                    value=disparity.value,
                    ci=ci,
                    min_group_n=disparity.min_group_n,
                    for_seconds=rule.for_.seconds,
                    for_evaluations=rule.for_.evaluations,
                    for_windows=rule.for_.distinct_windows(
                        evaluation.window_end - evaluation.window_start
                    ),
                    groups=group_stats(evaluation.groups, disparity.attribute),
                    extremes=extremes(disparity),
                    small_groups=disparity.small_groups,
                    sequential=None
                    if spec is None
                    else SequentialStep(
                        spec, step_counts(disparity.metric, evaluation.groups, disparity.attribute)
                    ),
                )
            )
        if rule.low_volume is not None:
            for attribute, disparities in per_attribute.items():
                starved = all(d.status == "not_computable" for d in disparities)
                smallest = min(d.min_group_n for d in disparities)
                observations.append(
                    Observation(
                        key=AlertKey(
                            rule.name,
                            evaluation.model_id,
                            attribute,
                            LOW_VOLUME_METRIC,
                            evaluation.window,
                            None,
                            LOW_VOLUME,
                        ),
                        kind="breach" if starved else "clear",
                        window_start=evaluation.window_start,
                        window_end=evaluation.window_end,
                        value=float(smallest),
                        min_group_n=smallest,
                        for_seconds=rule.low_volume.after,
                        groups=group_stats(evaluation.groups, attribute),
                    )
                )
    return observations


def alert_labels(rule: RuleConfig, key: AlertKey, severity: str) -> dict[str, str]:
    """Labels used for grouping, routing and silences: the rule's labels, then the identity."""
    return {**rule.labels, **key.labels(), "severity": severity, "alertname": rule.name}


def severity_of(rule: RuleConfig, key: AlertKey) -> str:
    if key.kind == LOW_VOLUME and rule.low_volume is not None:
        return rule.low_volume.severity
    return rule.severity


@dataclass(frozen=True)
class Alert:
    """An alert instance's state with what its rule says of it: its severity and labels, worked
    out once (:meth:`of`) for routing, silences and the snapshot receivers see."""

    rule: RuleConfig
    state: AlertState
    severity: str
    labels: Mapping[str, str]

    @classmethod
    def of(cls, rule: RuleConfig, state: AlertState) -> Alert:
        severity = severity_of(rule, state.key)
        return cls(rule, state, severity, alert_labels(rule, state.key, severity))

    @property
    def fingerprint(self) -> str:
        return self.state.fingerprint

    @property
    def status(self) -> str:
        return self.state.status

    def snapshot(self, status: Literal["firing", "resolved"]) -> AlertSnapshot:
        """What receivers see of this alert, told as ``status``."""
        rule, state = self.rule, self.state
        key = state.key
        last = state.last
        low_volume = key.kind == LOW_VOLUME
        return AlertSnapshot(
            status=status,
            rule=rule.name,
            severity=self.severity,
            model_id=key.model_id,
            attribute=key.attribute,
            metric=key.metric,
            window=key.window,
            value=last.value if last else None,
            ci=last.ci if last else None,
            threshold=0.0 if low_volume else rule.condition.threshold,
            op="<" if low_volume else rule.condition.op,
            clear_threshold=None if low_volume else rule.clear,
            mode=rule.mode or "point",
            group=key.group,
            kind=key.kind,
            fingerprint=state.fingerprint,
            starts_at=state.fired_at,
            ends_at=state.resolved_at if status == "resolved" else None,
            window_start=last.window_start if last else None,
            window_end=last.window_end if last else None,
            groups=last.groups if last else (),
            labels=dict(self.labels),
            annotations=rule.annotations.as_dict(),
            extremes=last.extremes if last and not low_volume else None,
            small_groups=last.small_groups if last else (),
            advice=state.advice if status == "firing" else None,
        )


def snapshot(
    rule: RuleConfig, state: AlertState, status: Literal["firing", "resolved"]
) -> AlertSnapshot:
    """What receivers see of ``state`` under ``rule`` (:meth:`Alert.snapshot`)."""
    return Alert.of(rule, state).snapshot(status)
