"""The demo's options and the daemon configuration it runs with (the same schema as
``fairwatch run``'s YAML file), declared once.

Tuning, and why it is robust (see docs/demo.md for the numbers):

* Windows of 12 hours sliding by 2 hours hold ~2,000 predictions (~680 for ``sex=Female``), so a
  group's selection rate is known to about ±0.03; before the drift the sex parity difference
  stays below 0.05 in every window.
* The drift cuts the selection rate of ``sex=Female`` from ~0.25 to ~0.05 (difference ~0.20).
* The rule fires when the difference exceeds 0.10 in 2 consecutive closed windows and resolves
  only once it is back below 0.07 (hysteresis), so noise near the threshold neither fires nor
  flaps. ``min_group_size`` 100 keeps small groups (and small windows) from being judged.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from fairwatch.demo.scenario import ScenarioSettings

MODEL_ID = "adult-income"
WINDOW = "12h/2h"
METRIC = "demographic_parity_difference"
RULE_NAME = "selection-rate-parity"
THRESHOLD = 0.10
CLEAR_THRESHOLD = 0.07
FOR_EVALUATIONS = 2
MIN_GROUP_SIZE = 100
WEBHOOK_RECEIVER = "demo-webhook"

FULL_SCENARIO = ScenarioSettings(model_id=MODEL_ID)
# Short mode: a third of the rows over two days (about the same traffic per window).
SHORT_SCENARIO = replace(FULL_SCENARIO, rows=6000, days=2.0, drift_start_day=0.8, drift_end_day=1.4)


@dataclass(frozen=True)
class DemoOptions:
    """``fairwatch demo``'s command-line options."""

    out: Path
    seed: int = 7
    short: bool = False
    speed: float | None = None  # events per second of wall time; None: as fast as possible
    webhook: str | None = None
    kafka: str | None = None
    live: bool | None = None  # None: a live table on a terminal, plain lines otherwise
    start: float | None = None  # event time of the first prediction (default: fixed)
    predictions_topic: str = "predictions"
    labels_topic: str = "labels"

    def scenario(self) -> ScenarioSettings:
        base = SHORT_SCENARIO if self.short else FULL_SCENARIO
        if self.start is not None:
            base = replace(base, start=self.start)
        return replace(base, seed=self.seed)


def monitor_config(options: DemoOptions) -> dict[str, Any]:
    """The daemon configuration (as parsed YAML) the demo runs the pipeline with."""
    rule: dict[str, Any] = {
        "name": RULE_NAME,
        "selector": {"model_id": MODEL_ID, "window": WINDOW},
        "condition": f"{METRIC} > {THRESHOLD:.2f}",
        "clear_threshold": CLEAR_THRESHOLD,
        "for": f"{FOR_EVALUATIONS} evaluations",
        "severity": "critical",
        "labels": {"team": "credit-risk"},
        "annotations": {
            "summary": "Selection rates differ between groups by more than 10 points",
            "runbook_url": "docs/demo.md#what-the-alert-means",
        },
        "receivers": [],
    }
    alerting: dict[str, Any] = {
        "rules": [rule],
        "routing": {
            "group_by": ["rule", "model_id", "attribute"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "7d",
        },
        "receivers": [],
        "tick_interval": "5s",
    }
    if options.webhook:
        alerting["receivers"].append(
            {
                "type": "webhook",
                "name": WEBHOOK_RECEIVER,
                "url": options.webhook,
                "timeout": "5s",
                # Simulated time: a few attempts over half an hour, then the outbox gives up.
                "retry": {"initial_backoff": "1m", "max_backoff": "5m", "max_age": "30m"},
            }
        )
        rule["receivers"] = [WEBHOOK_RECEIVER]
    kafka: dict[str, Any] = {
        "predictions_topic": options.predictions_topic,
        "labels_topic": options.labels_topic,
    }
    if options.kafka:
        kafka["bootstrap_servers"] = options.kafka
    return {
        "kafka": kafka,
        "models": {MODEL_ID: {"threshold": 0.5}},
        "sensitive": {"attributes": ["sex", "race"]},
        "windows": [WINDOW],
        "label_horizon": "14d",
        "allowed_lateness": "10m",
        "engine": {
            "min_group_size": MIN_GROUP_SIZE,
            "mode": "point",
            "thresholds": {METRIC: THRESHOLD},
            "bootstrap_samples": 500,
            # The disparities the demo shows (all of them cost time on every revised window).
            "metrics": [
                METRIC,
                "demographic_parity_ratio",
                "equal_opportunity_difference",
                "equalized_odds_difference",
                "predictive_parity_difference",
            ],
        },
        "state_dir": str(options.out / "demo-state"),
        "embedded_sink": {"path": str(options.out / "fairwatch.sqlite")},
        "alerting": alerting,
    }


def config_text(config: dict[str, Any]) -> str:
    """The configuration as YAML, as a user would write it."""
    return yaml.safe_dump(config, sort_keys=False, default_flow_style=False)
