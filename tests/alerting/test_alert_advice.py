"""Threshold advice in every receiver's payload, end to end: engine windows of scored decisions
into the alert manager, delivered to real HTTP servers on 127.0.0.1 (webhook, Slack Web API,
PagerDuty, retraining webhook)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from alerting import AlertManager
from alerting.config import AlertingConfig
from monitor.engine.config import EngineConfig
from monitor.engine.results import WindowEvaluation
from tests.alerting.alert_builders import HOUR, T0, config, webhook
from tests.alerting.alert_builders import evaluation as unscored_window
from tests.alerting.alert_servers import RecordingServer, Reply, always, slack_api
from tests.monitor.engine.advice_windows import Rows, recount, scored_rows, window_of

ENGINE = EngineConfig(bootstrap_samples=200)
MODEL = "credit-v3"
RULE = {"selector": {"model_id": "credit-*", "attribute": "sex"}}


def window(rows: Rows, end: float) -> WindowEvaluation:
    return window_of(rows, ENGINE, model_id=MODEL, attribute="sex", window_end=end)


def receivers(servers: dict[str, RecordingServer]) -> list[dict[str, Any]]:
    return [
        webhook("hook", servers["hook"].url),
        {
            "type": "slack",
            "name": "slack",
            "token_env": "FW_TEST_SLACK_TOKEN",
            "channel": "#fairness",
            "base_url": f"{servers['slack'].url}/api/",
        },
        {
            "type": "pagerduty",
            "name": "pd",
            "routing_key_env": "FW_TEST_PD_KEY",
            "url": f"{servers['pd'].url}/v2/enqueue",
        },
        {"type": "retraining", "name": "retrain", "url": servers["retrain"].url, "rules": ["dp"]},
    ]


@pytest.fixture
def servers(http_server, monkeypatch) -> dict[str, RecordingServer]:
    monkeypatch.setenv("FW_TEST_SLACK_TOKEN", "xoxb-test-token")
    monkeypatch.setenv("FW_TEST_PD_KEY", "R0UTING-KEY")
    return {
        "hook": http_server(always(Reply(200))),
        "slack": http_server(slack_api("xoxb-test-token")),
        "pd": http_server(always(Reply(202, {"status": "success"}))),
        "retrain": http_server(always(Reply(202))),
    }


def manager(cfg: AlertingConfig, path: Path) -> AlertManager:
    return AlertManager(cfg, path, rand=lambda: 0.0, engine=ENGINE)


def fire(m: AlertManager, first: WindowEvaluation, second: WindowEvaluation) -> float:
    """Two breaching windows (the rule's ``for``), then the deliveries; returns the fire time."""
    m.on_evaluations([first], first.window_end)
    fired = second.window_end
    m.on_evaluations([second], fired)
    m.tick(fired + 30)
    return fired


def payloads(servers: dict[str, RecordingServer]) -> dict[str, Any]:
    (hook,) = servers["hook"].requests
    (slack,) = servers["slack"].requests
    (pd,) = servers["pd"].requests
    (retrain,) = servers["retrain"].requests
    return {"hook": hook.json(), "slack": slack.json(), "pd": pd.json(), "retrain": retrain.json()}


def slack_advice(body: dict[str, Any]) -> list[str]:
    return [
        block["text"]["text"]
        for block in body["blocks"]
        if block["type"] == "section" and block["text"]["text"].startswith("*Advice*")
    ]


def test_every_receiver_carries_the_advice_of_the_window_that_fired(
    servers: dict[str, RecordingServer], tmp_path: Path
) -> None:
    rows = [scored_rows(seed=0), scored_rows(seed=1)]
    m = manager(config(receivers(servers), rule=RULE), tmp_path)
    fired = fire(m, window(rows[0], T0), window(rows[1], T0 + HOUR))
    sent = payloads(servers)

    advice = sent["hook"]["advice"]  # the primary alert's, at the webhook body's top level
    assert sent["hook"]["alerts"][0]["advice"] == advice
    assert advice["status"] == "advised" and advice["applied"] is False
    assert (advice["model_id"], advice["attribute"], advice["metric"]) == (
        MODEL,
        "sex",
        "demographic_parity_difference",
    )
    assert advice["target"] == {"op": "<=", "value": 0.08}  # the rule's clear threshold
    assert advice["window_end"] == "2023-11-14T23:13:20+00:00"  # the window that fired
    assert advice["decision_rule"] == "score >= threshold" and advice["score_bins"] == 50
    assert "exact" in advice["exact"]
    thresholds = advice["thresholds"]
    assert thresholds["C"] is None  # too few rows: keeps its decisions
    edges = (np.arange(51) / 50).tolist()
    assert thresholds["A"] in edges and thresholds["B"] in edges  # bin edges, steps of 0.02
    assert advice["meets_target"] and advice["after"]["value"] <= 0.08
    assert advice["before"]["value"] == sent["hook"]["value"] > 0.1
    # applied to the rows of the window that fired, the thresholds give the advised figures
    after = recount(rows[1], thresholds, ENGINE, model_id=MODEL)
    (dp,) = [d for d in after.disparities if d.metric == "demographic_parity_difference"]
    assert dp.value == advice["after"]["value"]
    assert [g["group"] for g in advice["groups"]] == ["A", "B", "C"]

    assert sent["pd"]["payload"]["custom_details"]["advice"] == advice
    assert sent["retrain"]["advice"] == advice and sent["retrain"]["breach"]["advice"] == advice
    (line,) = slack_advice(sent["slack"])
    assert line.startswith("*Advice*: thresholds (score >=, not applied): A ")
    assert f"B {thresholds['B']:g}; C kept" in line
    assert "demographic_parity_difference" in line and "(target <= 0.08)" in line

    # while it keeps firing, later windows do not change the advice: computed once per firing
    m.on_evaluations([window(scored_rows(seed=5, shift=0.3), fired + HOUR)], fired + HOUR)
    m.tick(fired + 5 * HOUR)  # repeat_interval: the webhook hears of it again
    repeat = servers["hook"].requests[-1].json()
    assert len(servers["hook"].requests) == 2 and repeat["advice"] == advice
    m.stop()


def test_the_advice_survives_a_restart_before_delivery(
    servers: dict[str, RecordingServer], tmp_path: Path
) -> None:
    cfg = config(receivers(servers), rule=RULE)
    first = manager(cfg, tmp_path)
    first.on_evaluations([window(scored_rows(seed=0), T0)], T0)
    first.on_evaluations([window(scored_rows(seed=1), T0 + HOUR)], T0 + HOUR)
    first.stop()  # nothing delivered yet
    second = manager(cfg, tmp_path)
    second.tick(T0 + HOUR + 30)  # regroups the firing alert: group_wait from now
    second.tick(T0 + HOUR + 60)
    sent = payloads(servers)
    assert sent["hook"]["advice"]["status"] == "advised"
    assert sent["pd"]["payload"]["custom_details"]["advice"] == sent["hook"]["advice"]
    second.stop()


def test_a_model_without_scores_gets_no_advice(
    servers: dict[str, RecordingServer], tmp_path: Path
) -> None:
    m = manager(config(receivers(servers)), tmp_path)
    fire(m, unscored_window(0.12, T0), unscored_window(0.13, T0 + HOUR))
    sent = payloads(servers)
    assert sent["hook"]["advice"] is None
    assert sent["pd"]["payload"]["custom_details"]["advice"] is None
    assert sent["retrain"]["advice"] is None
    assert slack_advice(sent["slack"]) == []
    m.stop()


def test_a_window_with_unscored_rows_says_why_there_is_no_advice(
    servers: dict[str, RecordingServer], tmp_path: Path
) -> None:
    rows = scored_rows(seed=1)
    score = rows.score.copy()
    score[np.flatnonzero(rows.codes == 0)[:3]] = np.nan  # three of group A's rows unscored
    m = manager(config(receivers(servers), rule=RULE), tmp_path)
    fire(m, window(scored_rows(seed=0), T0), window(replace(rows, score=score), T0 + HOUR))
    sent = payloads(servers)
    advice = sent["hook"]["advice"]
    assert advice["status"] == "declined" and "group A has rows without a score" in advice["reason"]
    assert "thresholds" not in advice
    (line,) = slack_advice(sent["slack"])
    assert line.startswith("*Advice*: no threshold advice: group A has rows without a score")
    m.stop()


def test_a_ratio_rule_is_advised_towards_its_clear_threshold(
    servers: dict[str, RecordingServer], tmp_path: Path
) -> None:
    """The four-fifths rule on group B's selection rate: ``< 0.8`` fires, clears at 0.85."""
    rule = {
        **RULE,
        "condition": "selection_rate_ratio_to_reference < 0.8",
        "clear_threshold": 0.85,
        "selector": {**RULE["selector"], "group": "B"},
    }
    m = manager(config(receivers(servers), rule=rule), tmp_path)
    rows = scored_rows(seed=1)
    fire(m, window(scored_rows(seed=0), T0), window(rows, T0 + HOUR))
    advice = payloads(servers)["hook"]["advice"]
    assert advice["status"] == "advised" and advice["group"] == "B"
    assert advice["target"] == {"op": ">=", "value": 0.85}
    assert advice["after"]["value"] >= 0.85 and advice["meets_target"]
    after = recount(rows, advice["thresholds"], ENGINE, model_id=MODEL)
    (ratio,) = [
        d
        for d in after.disparities
        if d.metric == "selection_rate_ratio_to_reference" and d.group == "B"
    ]
    assert ratio.value == advice["after"]["value"]
    m.stop()


# the advice topic (alerting.advice) with a producer that records; against the real broker in
# test_alert_advice_topic.py -------------------------------------------------------------------
class RecordingProducer:
    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.messages: list[tuple[str, bytes, bytes]] = []
        self.closed = False

    def publish(self, topic: str, key: bytes, value: bytes) -> None:
        if self.failures:
            self.failures -= 1
            raise TimeoutError("no acknowledgement")
        self.messages.append((topic, key, value))

    def close(self) -> None:
        self.closed = True


def test_the_advice_topic_gets_one_message_per_firing_keyed_by_model(
    servers: dict[str, RecordingServer], tmp_path: Path
) -> None:
    cfg = config(receivers(servers), rule=RULE, advice={"topic": "fairwatch-advice"})
    producer = RecordingProducer(failures=1)
    m = AlertManager(cfg, tmp_path, rand=lambda: 0.0, engine=ENGINE, advice_producer=producer)
    fired = fire(m, window(scored_rows(seed=0), T0), window(scored_rows(seed=1), T0 + HOUR))
    assert producer.messages == []  # the broker did not acknowledge: retried later
    m.on_evaluations([window(scored_rows(seed=2), fired + HOUR)], fired + HOUR)  # still firing
    m.tick(fired + HOUR + 30)
    [(topic, key, value)] = producer.messages
    message = orjson.loads(value)
    assert (topic, key) == ("fairwatch-advice", MODEL.encode())
    assert (message["type"], message["model_id"], message["rule"]) == (
        "threshold_advice",
        MODEL,
        "dp",
    )
    assert message["advice"] == servers["hook"].requests[0].json()["advice"]
    assert message["advice"]["status"] == "advised"
    m.stop()
    assert producer.closed


def test_no_advice_message_without_a_topic_a_selected_rule_or_an_advice(
    servers: dict[str, RecordingServer], tmp_path: Path
) -> None:
    producer = RecordingProducer()
    for index, (rule, advice) in enumerate(
        [
            (RULE, {}),  # no topic
            (RULE, {"topic": "t", "rules": ["other-*"]}),  # the rule is not selected
            ({}, {"topic": "t"}),  # a model without scores: no advice
        ]
    ):
        cfg = config(receivers(servers), rule=rule, advice=advice)
        m = AlertManager(cfg, tmp_path / str(index), engine=ENGINE, advice_producer=producer)
        scored = bool(rule)
        first = window(scored_rows(seed=0), T0) if scored else unscored_window(0.12, T0)
        second = (
            window(scored_rows(seed=1), T0 + HOUR) if scored else unscored_window(0.13, T0 + HOUR)
        )
        fire(m, first, second)
        m.stop()
    assert producer.messages == []


def test_a_new_episode_gets_the_advice_of_its_own_window(
    servers: dict[str, RecordingServer], tmp_path: Path
) -> None:
    m = manager(config(receivers(servers), rule=RULE), tmp_path)
    fired = fire(m, window(scored_rows(seed=0), T0), window(scored_rows(seed=1), T0 + HOUR))
    first = servers["hook"].requests[0].json()["advice"]
    m.on_evaluations([unscored_window(0.05, fired + HOUR)], fired + HOUR)  # clears: resolved
    (state,) = m.alerts()
    assert state.status == "resolved" and state.advice == first  # kept, not shown
    m.tick(fired + HOUR + 300)
    resolved = servers["hook"].requests[-1].json()
    assert resolved["status"] == "resolved" and resolved["advice"] is None
    again = fired + 3 * HOUR
    m.on_evaluations([unscored_window(0.12, again - HOUR)], again - HOUR)  # pending: no advice yet
    assert m.alerts()[0].status == "pending" and m.alerts()[0].advice is None
    m.on_evaluations([window(scored_rows(seed=3), again)], again)  # fires on a scored window
    m.tick(again + 30)
    latest = servers["hook"].requests[-1].json()
    assert latest["status"] == "firing" and latest["advice"]["status"] == "advised"
    assert latest["advice"]["window_end"] == "2023-11-15T02:13:20+00:00"
    assert latest["advice"] != first
    m.stop()
