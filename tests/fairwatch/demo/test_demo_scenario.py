"""The demo's traffic: ordered events per the event contract, delayed labels, a bounded drift."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from fairwatch.demo import dataset, model
from fairwatch.demo.replay import encode
from fairwatch.demo.scenario import HOUR, Scenario, simulate
from fairwatch.demo.settings import SHORT_SCENARIO
from monitor.stream.decode import DecodeRules, decode_labels, decode_predictions

SETTINGS = replace(SHORT_SCENARIO, rows=3000)


@pytest.fixture(scope="module")
def trained() -> tuple[model.TrainedModel, object]:
    train, test = dataset.load_adult()
    return model.train(train), test


@pytest.fixture(scope="module")
def scenario(trained: tuple[model.TrainedModel, object]) -> Scenario:
    fitted, test = trained
    return simulate(test, fitted, SETTINGS)  # type: ignore[arg-type]


def test_the_baseline_selects_each_sex_at_about_the_same_rate(scenario: Scenario) -> None:
    rows = scenario.rows[~scenario.rows["drifted"]]
    rates = rows.groupby("sex")["decision"].mean()
    assert abs(rates["Female"] - rates["Male"]) < 0.05


def test_the_drift_harms_only_the_chosen_group_inside_its_span(scenario: Scenario) -> None:
    rows = scenario.rows
    drifted = rows[rows["drifted"]]
    assert len(drifted) > 100
    assert (drifted["sex"] == "Female").all()
    assert drifted["time"].min() >= SETTINGS.drift_start
    assert drifted["time"].max() < SETTINGS.drift_end
    inside = rows[(rows["time"] >= SETTINGS.drift_start) & (rows["time"] < SETTINGS.drift_end)]
    rates = inside.groupby("sex")["decision"].mean()
    assert rates["Male"] - rates["Female"] > 0.15


def test_events_arrive_in_order_and_every_label_after_its_prediction(scenario: Scenario) -> None:
    arrivals = [event.arrival for event in scenario.events]
    assert arrivals == sorted(arrivals)
    predicted_at = {e.key: e.arrival for e in scenario.events if e.topic == "predictions"}
    delays = np.array(
        [e.arrival - predicted_at[e.key] for e in scenario.events if e.topic == "labels"]
    )
    assert len(predicted_at) == SETTINGS.rows
    assert 0.9 * SETTINGS.rows < len(delays) == scenario.label_count < SETTINGS.rows
    assert delays.min() > 0 and delays.max() <= SETTINGS.label_delay_max_hours * HOUR
    assert 4 * HOUR < np.median(delays) < 12 * HOUR  # log-normal around 8 hours


def test_the_events_pass_the_pipeline_decoder(scenario: Scenario) -> None:
    rules = DecodeRules(thresholds={"adult-income": 0.5}, attributes=("sex", "race"))
    records = encode(scenario.events)
    predictions, bad_predictions = decode_predictions(
        [r for r in records if r.topic == "predictions"], rules
    )
    labels, bad_labels = decode_labels([r for r in records if r.topic == "labels"], rules)
    assert bad_predictions == [] and bad_labels == []
    assert len(predictions) == scenario.prediction_count
    assert len(labels) == scenario.label_count


def test_a_seed_reproduces_the_stream(trained: tuple[model.TrainedModel, object]) -> None:
    fitted, test = trained
    again = simulate(test, fitted, SETTINGS)  # type: ignore[arg-type]
    other = simulate(test, fitted, replace(SETTINGS, seed=SETTINGS.seed + 1))  # type: ignore[arg-type]
    first = simulate(test, fitted, SETTINGS)  # type: ignore[arg-type]
    assert [e.body for e in again.events[:50]] == [e.body for e in first.events[:50]]
    assert [e.body for e in other.events[:50]] != [e.body for e in first.events[:50]]
