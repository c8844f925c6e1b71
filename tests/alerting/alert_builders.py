"""Builders of engine results and configs for alerting tests."""

from __future__ import annotations

from typing import Any

from alerting.config import AlertingConfig, parse_alerting_config
from monitor.engine.results import Disparity, GroupResult, WindowEvaluation

T0 = 1_700_000_000.0
HOUR = 3600.0


def groups(selection: dict[str, float], n: int = 500) -> tuple[GroupResult, ...]:
    return tuple(
        GroupResult(
            attribute="sex",
            group=name,
            n=n,
            n_labeled=n // 2,
            predicted_positive=round(rate * n),
            tp=0,
            fp=0,
            tn=0,
            fn=0,
            rates={"selection_rate": rate},
            intervals={"selection_rate": (max(rate - 0.04, 0.0), min(rate + 0.04, 1.0))},
        )
        for name, rate in selection.items()
    )


def evaluation(
    value: float | None,
    window_end: float,
    *,
    model_id: str = "credit-v3",
    metric: str = "demographic_parity_difference",
    ci: tuple[float, float] | None = None,
    status: str | None = None,
    min_group_n: int = 500,
    group: str | None = None,
    window: str = "1h",
) -> WindowEvaluation:
    """One window with a single disparity of attribute ``sex``."""
    if ci is None and value is not None:
        ci = (value - 0.02, value + 0.02)
    if status is None:
        status = "not_computable" if value is None else "ok"
    disparity = Disparity(
        attribute="sex",
        metric=metric,
        value=value,
        ci_low=ci[0] if ci else None,
        ci_high=ci[1] if ci else None,
        min_group_n=min_group_n,
        status=status,  # type: ignore[arg-type]
        threshold=None,
        group=group,
        reference_group="male" if group else None,
    )
    return WindowEvaluation(
        model_id=model_id,
        window=window,
        window_start=window_end - HOUR,
        window_end=window_end,
        groups=groups({"female": 0.30, "male": 0.30 + (value or 0.0)}),
        disparities=(disparity,),
    )


def config(receivers: list[dict[str, Any]], **overrides: Any) -> AlertingConfig:
    """One rule ``dp`` (> 0.10, clear below 0.08) routed to every receiver given."""
    rule: dict[str, Any] = {
        "name": "dp",
        "selector": {"model_id": "credit-*", "attribute": "sex"},
        "condition": "demographic_parity_difference > 0.10",
        "clear_threshold": 0.08,
        "for": "2 evaluations",
        "severity": "critical",
        "annotations": {
            "owner": "risk-team",
            "runbook_url": "https://runbooks.example/dp",
            "dashboard_url": "https://grafana.example/d/fairness",
        },
        "receivers": [r["name"] for r in receivers if r["type"] != "retraining"],
    }
    rule.update(overrides.pop("rule", {}))
    data: dict[str, Any] = {
        "rules": [rule],
        "routing": {"group_wait": "30s", "group_interval": "5m", "repeat_interval": "4h"},
        "receivers": receivers,
        "tick_interval": "1s",
    }
    data.update(overrides)
    return parse_alerting_config(data)


def webhook(name: str, url: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "webhook",
        "name": name,
        "url": url,
        "timeout": "2s",
        "retry": {"initial_backoff": "1s", "max_backoff": "1m"},
        **extra,
    }
