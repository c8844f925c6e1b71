"""The backtest itself (:mod:`fairwatch.backtest.run`, :mod:`fairwatch.backtest.report`) without the
command line: what it read, what it rejected, the one episode the drop gives, and the two forms
of its report saying the same.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fairwatch.app import load
from fairwatch.backtest.events_file import read_events
from fairwatch.backtest.report import rfc3339, to_json, to_table
from fairwatch.backtest.run import BacktestResult, run_backtest
from tests.fairwatch.backtest.stream import HOUR, START, Drift, make_events, write_jsonl
from tests.fairwatch.backtest.test_backtest_command import CONFIG


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> BacktestResult:
    folder = tmp_path_factory.mktemp("backtest-run")
    config_path = folder / "fairwatch.yaml"
    config_path.write_text(CONFIG.replace("STATE", str(folder)), encoding="utf-8")
    bodies: list[Any] = [
        body
        for _arrival, body in make_events(
            hours=16, drifts=[Drift(START + 10 * HOUR, START + 14 * HOUR, "B", 0.1)]
        )
    ]
    duplicate = next(body for body in bodies if "prediction" in body)
    invalid = {**duplicate, "prediction_id": "broken", "prediction": 7}
    bodies[5:5] = [dict(duplicate), invalid]  # an at-least-once duplicate, an invalid decision
    path = write_jsonl(folder / "events.jsonl", bodies)
    config = load(config_path, secrets=False)
    return run_backtest(config, read_events(path, config))


def test_every_event_is_accounted_for(result: BacktestResult) -> None:
    events = result.events
    assert (
        result.accepted["prediction"]
        + len([letter for letter in result.dead_letters if letter.kind == "prediction"])
        == events.predictions
    )
    assert result.duplicates["prediction"] == 1
    [letter] = result.dead_letters
    assert letter.origin == 7  # the seventh line of the file (the sixth event, plus one)
    assert letter.kind == "prediction" and letter.reason
    assert result.dead_letters_by_reason == {letter.reason: 1}
    assert result.labels_joined > 0 and result.late_predictions == 0
    assert result.start < result.end and result.windows_judged > 0


def test_the_drop_is_one_episode_fired_and_resolved_at_known_times(result: BacktestResult) -> None:
    assert result.episodes_by_rule == {"selection-parity": 1}
    [episode] = result.episodes
    assert rfc3339(episode.fired_at) == "2026-01-05T10:26:00Z"
    assert rfc3339(episode.resolved_at) == "2026-01-05T14:56:00Z"
    assert rfc3339(None) is None


def test_the_json_and_the_table_say_the_same(result: BacktestResult) -> None:
    document = json.loads(to_json(result, "fairwatch.yaml"))
    [episode] = document["episodes"]
    assert episode["fired_at"] == "2026-01-05T10:26:00Z"
    summary = document["summary"]
    assert summary["accepted"] == result.accepted
    assert summary["dead_letters"]["total"] == 1
    assert document["dead_letters"][0]["line"] == 7
    assert Path(document["events_file"]).name == "events.jsonl"
    table = to_table(result, "fairwatch.yaml")
    assert "selection-parity" in table and "10:26" in table and "14:56" in table
