"""The threshold advice an alert carries: computed once, when the alert starts firing, from the
window that made it fire (:func:`monitor.engine.advice.advise`), kept in the alert's state and shown
by every receiver (docs/alerting.md, "Threshold advice").

The target is the rule's clear threshold: the value at which the alert would resolve (``value >
0.1`` clearing at 0.08 asks for at most 0.08; a ratio ``< 0.8`` asks for at least its clear
threshold). Advice is given for rules on decision rates of a model with scores; a rule on PPV,
accuracy or calibration, a low-volume alert or a model without scores gets none (``None``), and a
window the engine cannot advise on (rows without a score, no labels) a ``declined`` advice that
says why. fairwatch never applies the thresholds.
"""

from __future__ import annotations

import logging
from typing import Any

from alerting.config import RuleConfig
from alerting.model import AlertKey
from alerting.render import iso_time
from monitor.engine.advice import (
    DECISION_RULE,
    Advice,
    Declined,
    Figures,
    Op,
    Target,
    advisable,
    advise,
    has_scores,
)
from monitor.engine.config import EngineConfig
from monitor.engine.results import WindowEvaluation

log = logging.getLogger("fairwatch.alerting")

#: The side of the clear threshold where a rule's alert resolves, by the rule's operator.
CLEARED: dict[str, Op] = {">": "<=", ">=": "<", "<": ">=", "<=": ">"}


def target_of(rule: RuleConfig) -> Target:
    """Where the metric must be for the rule's alert to clear (its clear threshold)."""
    return Target(CLEARED[rule.condition.op], rule.clear)


def alert_advice(
    rule: RuleConfig, key: AlertKey, evaluation: WindowEvaluation, engine: EngineConfig
) -> dict[str, Any] | None:
    """The advice of an alert that starts firing on ``evaluation`` as a JSON-ready dict; None
    when none applies (see the module's docstring). Never raises: a failure is logged and
    reported as a declined advice."""
    if key.kind != "disparity" or not advisable(key.metric):
        return None
    if not has_scores(evaluation, key.attribute):
        return None
    target = target_of(rule)
    try:
        found = advise(evaluation, key.attribute, key.metric, target, engine, group=key.group)
    except Exception as error:  # advice is an extra: it must never stop an alert
        log.exception(
            "event=advice_failed rule=%s model_id=%s attribute=%s metric=%s",
            key.rule,
            key.model_id,
            key.attribute,
            key.metric,
        )
        found = Declined(f"the advice could not be computed ({type(error).__name__})")
    return advice_payload(found, target, key, evaluation)


def advice_payload(
    found: Advice | Declined, target: Target, key: AlertKey, evaluation: WindowEvaluation
) -> dict[str, Any]:
    """The documented JSON object of an advice (docs/alerting.md)."""
    common: dict[str, Any] = {
        "model_id": key.model_id,
        "attribute": key.attribute,
        "metric": key.metric,
        "group": key.group,
        "target": {"op": target.op, "value": target.bound},
        "window": key.window,
        "window_start": iso_time(evaluation.window_start),
        "window_end": iso_time(evaluation.window_end),
    }
    if isinstance(found, Declined):
        return {"status": "declined", "reason": found.reason, **common}
    return {
        "status": "advised",
        **common,
        "decision_rule": DECISION_RULE,
        "thresholds": found.thresholds,
        "meets_target": found.meets_target,
        "before": _figures(found.before),
        "after": _figures(found.after),
        "groups": [
            {
                "group": item.group,
                "threshold": item.threshold,
                "n": item.n,
                "before": item.before,
                "after": item.after,
            }
            for item in found.groups
        ],
        "score_bins": found.score_bins,
        "exact": (
            f"thresholds are edges of the window's {found.score_bins} score bins: the after "
            "figures are exact for the window's rows"
        ),
        "applied": False,
    }


def _figures(figures: Figures) -> dict[str, Any]:
    return {
        "value": figures.value,
        "ci": None if figures.ci is None else list(figures.ci),
        "status": figures.status,
        "accuracy": figures.accuracy,
    }
