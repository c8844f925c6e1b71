"""``kafka.mode: pane_counts``: the daemon evaluating the pane topic of a counting tier writes
what the daemon counting the events itself writes; progress waits for the counts it covers."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fairwatch.app import build_daemon
from monitor.config import MonitorConfig
from monitor.sinks.embedded import EmbeddedSink
from monitor.stream.counters import PANES_IGNORED, PANES_UPDATED
from monitor.stream.memory import EmbeddedSource, MemoryDeadLetters
from monitor.stream.pipeline import Pipeline, StateMismatchError
from monitor.stream.state import StateStore
from tests.monitor.stream.panes import (
    PANE_TOPIC,
    PaneTopicWriter,
    pane_values,
    progress_values,
)
from tests.monitor.stream.reference import make_events, records
from tests.monitor.stream.test_pipeline import make_config

MEASUREMENTS = ("fairness_group", "fairness_disparity")


def run(config: MonitorConfig, stream: list[Any]) -> tuple[Pipeline, MemoryDeadLetters]:
    dead_letters = MemoryDeadLetters()
    daemon = build_daemon(
        config,
        source=EmbeddedSource(stream),
        sink=EmbeddedSink(config.embedded_sink.path),  # type: ignore[union-attr]
        dead_letters=dead_letters,
        health=False,
        alerting=False,
    )
    assert daemon.run(stop_when_idle=True) == 0
    return daemon.pipeline, dead_letters


def sink_rows(config: MonitorConfig) -> dict[str, list[Any]]:
    sink = EmbeddedSink(config.embedded_sink.path)  # type: ignore[union-attr]
    try:
        return {
            measurement: sorted(
                sink.rows(measurement), key=lambda row: (sorted(row.tags.items()), row.time)
            )
            for measurement in MEASUREMENTS
        }
    finally:
        sink.close()


def pane_config(tmp_path: Path, **changes: Any) -> MonitorConfig:
    return make_config(tmp_path, kafka={"mode": "pane_counts"}, **changes)


def event_stream() -> list[Any]:
    predictions, labels = make_events(3000, models=("credit", "fraud"))
    return records("predictions", predictions, 3) + records("labels", labels, 3)


def test_the_evaluator_writes_what_the_counting_daemon_writes(tmp_path: Path) -> None:
    counting = make_config(tmp_path / "events")
    counted, _ = run(counting, event_stream())
    writer = PaneTopicWriter(partitions=3)
    # the pane topic as a job writes it over time: each pane again as labels arrive (here: the
    # final counts twice, the first time halved), progress last
    halved = [
        (key, {name: value // 2 if isinstance(value, int) else value for name, value in v.items()})
        for key, v in pane_values(counted)
    ]
    topic = writer.records(halved + pane_values(counted) + progress_values(counted))
    evaluator = pane_config(tmp_path / "panes")
    evaluated, dead_letters = run(evaluator, topic)
    assert dead_letters.letters == []
    want, got = sink_rows(counting), sink_rows(evaluator)
    assert len(want["fairness_group"]) > 100
    assert got == want
    assert evaluated.watermark.value == counted.watermark.value
    assert evaluated.positions[("predictions", 0)] == counted.positions[("predictions", 0)]


def test_reading_the_topic_again_changes_nothing(tmp_path: Path) -> None:
    counted, _ = run(make_config(tmp_path / "events"), event_stream())
    pairs = pane_values(counted) + progress_values(counted)
    config = pane_config(tmp_path / "panes")
    pipeline = Pipeline(config, StateStore(config.state_dir))
    pipeline.process(PaneTopicWriter().records(pairs))
    first = {key: pipeline.panes.matrix(key).copy() for key in pipeline.panes}  # type: ignore[union-attr]
    updated = pipeline.counters.get(PANES_UPDATED)
    pipeline.process(PaneTopicWriter().records(pairs))  # a restart that reads it from the start
    assert {key: pipeline.panes.matrix(key) for key in pipeline.panes}.keys() == first.keys()
    for key, matrix in first.items():
        assert np.array_equal(pipeline.panes.matrix(key), matrix)  # type: ignore[arg-type]
    assert pipeline.counters.get(PANES_UPDATED) == updated
    pipeline.close()


def pane(start: float, n: int, group: str = "F") -> tuple[dict[str, Any], dict[str, Any]]:
    key = {
        "attribute": "sex",
        "group_name": group,
        "model_id": "m",
        "pane_seconds": 1800.0,
        "pane_start": start,
    }
    return key, {"n": n, "predicted_positive": n, "tp": 0, "fp": 0, "tn": 0, "fn": 0}


def progress(partition: int, event_time: float | None, offset: int) -> tuple[dict[str, Any], Any]:
    value: dict[str, Any] = {"offset": offset}
    if event_time is not None:
        value["event_time"] = event_time
    return {"partition": partition, "progress": "predictions"}, value


def test_progress_waits_until_the_pane_topic_is_read_past_it(tmp_path: Path) -> None:
    """The job's transaction lands in both partitions of the pane topic; the progress read
    from one partition is applied only once the other is read to where it ended then."""
    config = pane_config(tmp_path, windows=["2h/30m"], allowed_lateness=0)
    pipeline = Pipeline(config, StateStore(config.state_dir))
    pipeline.own_partitions([(PANE_TOPIC, 0), (PANE_TOPIC, 1), ("predictions", 0)])
    progress_record, pane_record = PaneTopicWriter(partitions=1).records(
        [progress(0, 7200.0, 41), pane(5400.0, 3)]
    )
    # the progress in partition 0, its counts in partition 1, not read yet
    pipeline.process([progress_record])
    pipeline.tick(10.0, {(PANE_TOPIC, 0): 0, (PANE_TOPIC, 1): 1, ("predictions", 0): 0})
    assert pipeline.watermark.value == -math.inf
    assert pipeline.positions.get(("predictions", 0)) is None
    pipeline.process([pane_record._replace(partition=1)])
    pipeline.tick(11.0, {(PANE_TOPIC, 0): 0, (PANE_TOPIC, 1): 0, ("predictions", 0): 0})
    assert pipeline.watermark.value == 7200.0
    assert pipeline.positions[("predictions", 0)] == 42
    pipeline.close()


def test_nothing_is_released_while_the_end_offsets_are_unknown(tmp_path: Path) -> None:
    config = pane_config(tmp_path, allowed_lateness=0)
    pipeline = Pipeline(config, StateStore(config.state_dir))
    pipeline.own_partitions([(PANE_TOPIC, 0), ("predictions", 0)])
    pipeline.process(PaneTopicWriter(partitions=1).records([progress(0, 7200.0, 3)]))
    pipeline.tick(10.0, {})  # the broker did not answer
    assert pipeline.watermark.value == -math.inf
    pipeline.tick(11.0, {(PANE_TOPIC, 0): 0})
    assert pipeline.watermark.value == 7200.0
    pipeline.close()


def test_the_watermark_is_the_slowest_partition_of_the_predictions_topic(tmp_path: Path) -> None:
    """As in-process: the minimum over the job's partitions; a partition with nothing left for
    the job to read and silent for pipeline.idle_timeout stops holding it back."""
    config = pane_config(tmp_path, allowed_lateness=0)
    pipeline = Pipeline(config, StateStore(config.state_dir))
    owned = [(PANE_TOPIC, 0), ("predictions", 0), ("predictions", 1)]
    pipeline.own_partitions(owned)
    pipeline.process(
        PaneTopicWriter(partitions=1).records([progress(0, 9000.0, 10), progress(1, 5000.0, 4)])
    )
    behind = {(PANE_TOPIC, 0): 0, ("predictions", 0): 0, ("predictions", 1): 3}
    pipeline.tick(0.0, behind)
    assert pipeline.watermark.value == 5000.0
    pipeline.tick(600.0, behind)  # partition 1 has records the job has not read: not idle
    assert pipeline.watermark.value == 5000.0
    caught_up = {**behind, ("predictions", 1): 0}
    pipeline.tick(601.0, caught_up)
    pipeline.tick(601.0 + config.pipeline.idle_timeout, caught_up)
    assert pipeline.watermark.value == 9000.0
    pipeline.close()


def test_a_bad_pane_record_is_dead_lettered_with_its_reason(tmp_path: Path) -> None:
    config = pane_config(tmp_path)
    key, value = pane(0.0, 2)
    wrong_bins = {**value, "score_histogram": [[0] * 10, [0] * 10], "score_offsets": [0] * 10}
    bad = PaneTopicWriter(partitions=1).records(
        [(key, wrong_bins), (key, None), (key, {**value, "n": -1}), ({"x": 1}, value)]
    )
    bad.append(bad[0]._replace(offset=9, value=b"{not json"))
    good = PaneTopicWriter(partitions=1).records([pane(0.0, 2)])[0]._replace(offset=10)
    pipeline = Pipeline(config, StateStore(config.state_dir))
    rejected = pipeline.process([*bad, good])
    assert [error.reason for error in rejected] == ["invalid_pane"] * 5
    details = [error.detail for error in rejected]
    assert "score histogram of 10 bins, engine.score_bins is 50" in details[0]
    assert "tombstone" in details[1]
    assert details[2:] == [
        "a negative count",
        "key: neither a pane nor a progress key "
        "(missing attribute, group_name, model_id, pane_seconds, pane_start)",
        "value: not JSON",
    ]
    assert pipeline.counters.get(PANES_UPDATED) == 1  # the good one still counts
    pipeline.close()


def test_panes_of_another_configuration_are_counted_as_ignored(tmp_path: Path) -> None:
    config = pane_config(tmp_path)
    key, value = pane(0.0, 2)
    pipeline = Pipeline(config, StateStore(config.state_dir))
    pipeline.process(
        PaneTopicWriter(partitions=1).records(
            [({**key, "pane_seconds": 900.0}, value), ({**key, "attribute": "age"}, value)]
        )
    )
    assert pipeline.counters.series(PANES_IGNORED) == {
        ("unknown_step",): 1,
        ("unknown_attribute",): 1,
    }
    assert len(pipeline.panes) == 0
    pipeline.close()


def test_a_restart_keeps_the_counts_and_the_progress_not_yet_applied(tmp_path: Path) -> None:
    config = pane_config(tmp_path, allowed_lateness=0)
    pipeline = Pipeline(config, StateStore(config.state_dir))
    pipeline.own_partitions([(PANE_TOPIC, 0), ("predictions", 0)])
    writer = PaneTopicWriter(partitions=1)
    pipeline.process(writer.records([pane(3600.0, 5), progress(0, 3700.0, 8)]))
    pipeline.checkpoint()  # the progress is read, not yet released
    pipeline.close()
    restarted = Pipeline(config, StateStore(config.state_dir))
    assert restarted.positions[(PANE_TOPIC, 0)] == 2
    restarted.own_partitions([(PANE_TOPIC, 0), ("predictions", 0)])
    restarted.tick(1.0, {(PANE_TOPIC, 0): 0})
    assert restarted.watermark.value == 3700.0
    [evaluation] = restarted.evaluate(1.0)[:1]
    assert evaluation.model_id == "m"
    restarted.close()


def test_a_state_dir_of_the_other_mode_is_refused(tmp_path: Path) -> None:
    events = make_config(tmp_path)
    pipeline = Pipeline(events, StateStore(events.state_dir))
    pipeline.checkpoint()
    pipeline.close()
    with pytest.raises(StateMismatchError, match=r"kafka\.mode events"):
        Pipeline(pane_config(tmp_path), StateStore(events.state_dir))
