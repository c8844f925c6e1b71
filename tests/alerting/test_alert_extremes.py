"""Alerts say who a disparity is about: the groups at its extremes and the groups left out."""

from __future__ import annotations

import pytest

from alerting.config import parse_alerting_config
from alerting.model import AlertState, Notification
from alerting.receivers.slack import blocks
from alerting.render import alert_line, alert_payload
from alerting.rules import observe, snapshot
from monitor.engine.counts import GroupCounts
from monitor.engine.evaluate import evaluate

T0 = 1_700_000_000.0


def cell(tp: int, fp: int, tn: int, fn: int) -> GroupCounts:
    return GroupCounts(tp + fp + tn + fn, tp + fp, tp, fp, tn, fn)


# COMPAS's African-American and Caucasian defendants, and its 18 Native American ones
COUNTS = {
    ("race", "African-American"): cell(1369, 805, 990, 532),
    ("race", "Caucasian"): cell(505, 349, 1139, 461),
    ("race", "Native American"): cell(9, 3, 5, 1),
}
WHO = "race: FPR African-American 0.448 vs Caucasian 0.235"


@pytest.fixture(scope="module")
def firing() -> Notification:
    rule = parse_alerting_config(
        {"rules": [{"name": "odds", "condition": "equalized_odds_difference > 0.1"}]}
    ).rules[0]
    evaluation = evaluate("recidivism", "1d", T0 - 86400, T0, COUNTS)
    (observation,) = observe([rule], evaluation)
    assert observation.kind == "breach"
    state = AlertState(
        key=observation.key, status="firing", active_at=T0, fired_at=T0, last=observation
    )
    alert = snapshot(rule, state, "firing")
    return Notification("hook", "g", {}, "firing", (alert,), created_at=T0)


def test_the_alert_line_names_the_extremes(firing: Notification) -> None:
    line = alert_line(firing.alerts[0])
    assert WHO in line
    assert line.startswith("[FIRING] recidivism: equalized_odds_difference of race > 0.1")


def test_slack_shows_the_extremes_and_the_groups_left_out(firing: Notification) -> None:
    text = str(blocks(firing))
    assert WHO in text
    assert "left out (too few rows): Native American" in text


def test_the_payload_carries_the_extremes(firing: Notification) -> None:
    payload = alert_payload(firing.alerts[0])
    assert payload["extremes"] == {
        "rate": "fpr",
        "highest_group": "African-American",
        "highest_rate": pytest.approx(805 / 1795),
        "lowest_group": "Caucasian",
        "lowest_rate": pytest.approx(349 / 1488),
    }
    assert payload["small_groups"] == ["Native American"]


def test_extremes_survive_the_alert_store(firing: Notification) -> None:
    assert Notification.from_json(firing.to_json()) == firing
    rule = parse_alerting_config(
        {"rules": [{"name": "odds", "condition": "equalized_odds_difference > 0.1"}]}
    ).rules[0]
    (observation,) = observe([rule], evaluate("recidivism", "1d", T0 - 86400, T0, COUNTS))
    state = AlertState(key=observation.key, status="pending", active_at=T0, last=observation)
    assert AlertState.from_json(state.to_json()) == state
