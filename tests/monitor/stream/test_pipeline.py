"""The pipeline core against a naive batch computation: joins, windows, duplicates, restore."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.config import MonitorConfig, config_from_dict
from monitor.stream.counters import (
    EVENTS_DUPLICATE,
    EVENTS_INVALID,
    EVENTS_LATE,
    LABELS_AWAITING_PREDICTION,
    LABELS_JOINED,
    LABELS_ORPHANED,
    PREDICTIONS_AWAITING_LABEL,
    PREDICTIONS_EXPIRED_UNLABELED,
)
from monitor.stream.decode import Record
from monitor.stream.pipeline import Pipeline
from monitor.stream.state import StateStore
from tests.monitor.stream.reference import (
    Collector,
    evaluation_counts,
    make_events,
    records,
    reference_counts,
)


def make_config(tmp_path: Path, **changes: Any) -> MonitorConfig:
    data: dict[str, Any] = {
        "sensitive": {"attributes": ["sex", "race"], "intersections": [["sex", "race"]]},
        "windows": ["1h", "2h/30m"],
        "state_dir": str(tmp_path / "state"),
        "embedded_sink": {"path": str(tmp_path / "metrics.sqlite")},
        "engine": {"bootstrap_samples": 10},
    }
    data.update(changes)
    return config_from_dict(data)


def prediction(key: str, time: float) -> dict[str, Any]:
    """One positive decision of model ``m`` at event time ``time``."""
    return {
        "prediction_id": key,
        "model_id": "m",
        "timestamp": time,
        "prediction": 1,
        "sensitive": {"sex": "F", "race": "A"},
    }


def open_pipeline(config: MonitorConfig) -> tuple[Pipeline, Collector]:
    collector = Collector()
    return Pipeline(config, StateStore(config.state_dir), [collector]), collector


def feed(pipeline: Pipeline, stream: list[Record], rng: random.Random) -> None:
    position = 0
    while position < len(stream):
        size = rng.randint(1, 400)
        pipeline.process(stream[position : position + size])
        position += size


def interleave(stream: list[Record], rng: random.Random) -> list[Record]:
    queues: dict[tuple[str, int], list[Record]] = {}
    for record in stream:
        queues.setdefault((record.topic, record.partition), []).append(record)
    out: list[Record] = []
    while queues:
        key = rng.choice(sorted(queues))
        out.append(queues[key].pop(0))
        if not queues[key]:
            del queues[key]
    return out


def test_stream_equals_batch_with_late_labels_early_labels_and_duplicates(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    predictions, labels = make_events(3000)
    rng = random.Random(3)
    early = labels[:200]  # these labels arrive before their predictions
    duplicates = rng.sample(predictions, 150) + rng.sample(labels, 100)
    stream = records("labels", early) + records("predictions", predictions[:1500])
    stream += records("labels", labels[200:900], first_offset=[len(early)])
    stream += records(
        "predictions",
        predictions[1500:] + [e for e in duplicates if "score" in e],
        first_offset=[1500],
    )
    stream += records(
        "labels", labels[900:] + [e for e in duplicates if "score" not in e], first_offset=[900]
    )
    pipeline, collector = open_pipeline(config)
    feed(pipeline, stream, rng)
    pipeline.evaluate(now=0.0)
    expected = reference_counts(predictions, labels, config.windows)
    assert evaluation_counts(collector.evaluations) == expected
    assert pipeline.counters.get(EVENTS_DUPLICATE, kind="prediction") == 150
    assert pipeline.counters.get(EVENTS_DUPLICATE, kind="label") == 100
    assert pipeline.counters.get(LABELS_JOINED) == len(labels)
    assert pipeline.counters.get(PREDICTIONS_AWAITING_LABEL) == len(predictions) - len(labels)
    assert pipeline.counters.get(LABELS_AWAITING_PREDICTION) == 0


@pytest.mark.parametrize("order", ["one_partition_first", "random_interleaving", "reversed"])
def test_a_backlog_read_from_many_partitions_is_never_late(tmp_path: Path, order: str) -> None:
    # the default allowed_lateness (10 minutes) against 3 partitions read in any order, each
    # partition in event-time order: a fresh start on two fully produced topics
    config = make_config(tmp_path)
    predictions, labels = make_events(3000, spacing=60.0)  # 50 hours of event time
    by_partition = records("predictions", predictions, partitions=3)
    label_records = records("labels", labels, partitions=3)
    rng = random.Random(8)
    if order == "one_partition_first":
        stream = sorted(by_partition, key=lambda record: record.partition) + label_records
    elif order == "reversed":
        stream = sorted(by_partition, key=lambda record: -record.partition) + label_records
    else:
        stream = interleave(by_partition + label_records, rng)
    pipeline, collector = open_pipeline(config)
    pipeline.own_partitions({("predictions", p) for p in range(3)} | {("labels", 0)})
    feed(pipeline, stream, rng)
    pipeline.evaluate(now=0.0)
    assert pipeline.counters.series(EVENTS_LATE) == {}
    assert pipeline.counters.series(EVENTS_INVALID) == {}
    assert evaluation_counts(collector.evaluations) == reference_counts(
        predictions, labels, config.windows
    )
    assert pipeline.counters.get(LABELS_JOINED) == len(labels)
    assert pipeline.watermark.event_time == min(
        max(
            float(event["timestamp"])
            for event, record in zip(predictions, by_partition, strict=True)
            if record.partition == partition
        )
        for partition in range(3)
    )


def test_a_late_label_rewrites_its_window(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    predictions, labels = make_events(50, spacing=1.0)
    pipeline, _collector = open_pipeline(config)
    pipeline.process(records("predictions", predictions))
    first = pipeline.evaluate(now=0.0)
    assert first and all(group.n_labeled == 0 for e in first for group in e.groups)
    assert pipeline.evaluate(now=1.0) == []  # nothing changed: nothing re-written
    pipeline.process(records("labels", labels[:5]))
    revised = pipeline.evaluate(now=2.0)
    assert {(e.window, e.window_start) for e in revised} == {
        (e.window, e.window_start) for e in first
    }
    sex_total = sum(
        g.n_labeled for e in revised if e.window == "1h" for g in e.groups if g.attribute == "sex"
    )
    assert sex_total == 5


def test_restart_replays_from_the_checkpoint_without_double_counting(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    predictions, labels = make_events(2000)
    stream = interleave(
        records("predictions", predictions, partitions=3) + records("labels", labels, partitions=3),
        random.Random(5),
    )  # partitions interleave at random (labels before predictions too), each one in order
    rng = random.Random(11)
    handed: list[Any] = []
    for _attempt in range(6):
        pipeline, collector = open_pipeline(config)
        positions = dict(pipeline.positions)
        remaining = [
            record
            for record in stream
            if record.offset >= positions.get((record.topic, record.partition), 0)
        ]
        checkpoint_after = rng.randint(0, len(remaining))
        crash_after = rng.randint(checkpoint_after, len(remaining))
        pipeline.process(remaining[:checkpoint_after])
        pipeline.evaluate(now=0.0)
        pipeline.checkpoint()
        pipeline.process(remaining[checkpoint_after:crash_after])  # lost in the crash
        handed.extend(collector.evaluations)
        pipeline.store.connection.close()  # a crash: nothing after the checkpoint is kept
        pipeline.store.release()
    pipeline, collector = open_pipeline(config)
    positions = dict(pipeline.positions)
    pipeline.process(
        [
            record
            for record in stream
            if record.offset >= positions.get((record.topic, record.partition), 0)
        ]
    )
    pipeline.evaluate(now=0.0)
    expected = reference_counts(predictions, labels, config.windows)
    assert evaluation_counts(handed + collector.evaluations) == expected


def test_windows_not_confirmed_written_are_rewritten_after_a_restart(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    predictions, _labels = make_events(100, spacing=60.0)
    pipeline, _collector = open_pipeline(config)
    pipeline.process(records("predictions", predictions))
    handed = {(e.window, e.window_start) for e in pipeline.evaluate(now=0.0)}
    pipeline.checkpoint()  # the sink has not confirmed the write
    pipeline.store.connection.close()
    pipeline.store.release()
    pipeline, _collector = open_pipeline(config)
    assert {(e.window, e.window_start) for e in pipeline.evaluate(now=1.0)} == handed
    pipeline.confirm_written()
    pipeline.checkpoint()
    pipeline.close()
    pipeline, _collector = open_pipeline(config)
    assert pipeline.evaluate(now=2.0) == []


def test_late_predictions_revise_their_closed_windows(tmp_path: Path) -> None:
    config = make_config(tmp_path, allowed_lateness="10m", windows=["1h"])
    base = 1_700_000_000.0 - 1_700_000_000.0 % 3600
    events = [
        {
            "prediction_id": "a",
            "model_id": "m",
            "timestamp": base + 5 * 3600,
            "prediction": 1,
            "sensitive": {"sex": "F", "race": "A"},
        },
        # window [base+3h, base+4h) closed at base+4h, watermark is base+5h-10m: late, but its
        # pane is still kept (the label horizon is 30 days), so it is added and the window
        # is handed over again
        {
            "prediction_id": "b",
            "model_id": "m",
            "timestamp": base + 3 * 3600 + 60,
            "prediction": 1,
            "sensitive": {"sex": "F", "race": "A"},
        },
        # window [base+4h, base+5h) ends after the watermark: still open
        {
            "prediction_id": "c",
            "model_id": "m",
            "timestamp": base + 4 * 3600 + 60,
            "prediction": 0,
            "sensitive": {"sex": "M", "race": "A"},
        },
    ]
    pipeline, _collector = open_pipeline(config)
    for record in records("predictions", events):  # the watermark advances between batches
        rejected = pipeline.process([record])
        assert rejected == []
    assert pipeline.counters.series(EVENTS_LATE) == {("1h",): 1}
    windows = {e.window_start: e for e in pipeline.evaluate(now=0.0)}
    assert set(windows) == {base + 5 * 3600, base + 4 * 3600, base + 3 * 3600}
    assert {group.n for group in windows[base + 3 * 3600].groups} == {1}
    # the late prediction's label joins it like any other
    pipeline.process(records("labels", [{"prediction_id": "b", "label": 1}]))
    assert (
        pipeline.counters.get(LABELS_AWAITING_PREDICTION),
        pipeline.counters.get(LABELS_JOINED),
    ) == (0, 1)
    (revised,) = pipeline.evaluate(now=1.0)
    assert revised.window_start == base + 3 * 3600
    assert {group.tp for group in revised.groups} == {1}


def test_predictions_older_than_the_kept_state_are_dead_lettered_too_late(
    tmp_path: Path,
) -> None:
    # a short horizon (default 30 days) so that a pane is retired within the test
    config = make_config(tmp_path, label_horizon="1d", windows=["1h"])
    day = 86400.0
    base = 1_700_000_000.0

    pipeline, _collector = open_pipeline(config)
    pipeline.process(records("predictions", [prediction("new", base + 3 * day)]))
    stream = records(
        "predictions",
        [prediction("old", base), prediction("old", base), prediction("kept", base + 2.5 * day)],
        first_offset=[1],
    )
    rejected = pipeline.process(stream)
    # the first copy is too late; the second is a duplicate of it (one message, one reason)
    assert [(r.reason, r.record.offset, r.record.value) for r in rejected] == [
        ("too_late", 1, stream[0].value)
    ]
    assert pipeline.counters.series(EVENTS_INVALID) == {("predictions", "too_late"): 1}
    assert pipeline.counters.get(EVENTS_DUPLICATE, kind="prediction") == 1
    assert pipeline.counters.series(EVENTS_LATE) == {
        ("1h",): 1
    }  # "kept": its window closed, its pane is kept
    # the too-late prediction's label waits for a prediction that will never be counted
    pipeline.process(records("labels", [{"prediction_id": "old", "label": 1}]))
    assert (
        pipeline.counters.get(LABELS_JOINED),
        pipeline.counters.get(LABELS_AWAITING_PREDICTION),
    ) == (0, 1)


def test_label_horizon_expires_predictions_and_orphans_labels(tmp_path: Path) -> None:
    config = make_config(tmp_path, label_horizon="1d", allowed_lateness="1h", windows=["1h"])
    day = 86400.0

    pipeline, _collector = open_pipeline(config)
    pipeline.process(records("predictions", [prediction("old", 1_700_000_000.0)]))
    pipeline.process(records("labels", [{"prediction_id": "never", "label": 1}]))
    pipeline.checkpoint()
    assert (
        pipeline.counters.get(PREDICTIONS_AWAITING_LABEL),
        pipeline.counters.get(LABELS_AWAITING_PREDICTION),
    ) == (1, 1)
    pipeline.process(
        records("predictions", [prediction("new", 1_700_000_000.0 + 3 * day)], first_offset=[1])
    )
    pipeline.checkpoint()
    assert pipeline.counters.get(PREDICTIONS_EXPIRED_UNLABELED) == 1
    assert pipeline.counters.get(LABELS_ORPHANED) == 1
    assert (
        pipeline.counters.get(PREDICTIONS_AWAITING_LABEL),
        pipeline.counters.get(LABELS_AWAITING_PREDICTION),
    ) == (1, 0)
    # the old prediction's pane is retired: nothing left but the new one
    assert {key[2] for key in pipeline.panes} == {
        1_700_000_000.0 + 3 * day - ((1_700_000_000.0 + 3 * day) % 3600)
    }


def test_bad_records_come_back_and_the_rest_is_counted(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    predictions, _labels = make_events(10)
    stream = records("predictions", [*predictions[:5], b"not json", *predictions[5:]])
    pipeline, _collector = open_pipeline(config)
    rejected = pipeline.process(stream)
    assert [(r.reason, r.record.value) for r in rejected] == [("invalid_json", b"not json")]
    assert pipeline.counters.series(EVENTS_INVALID) == {("predictions", "invalid_json"): 1}
    assert pipeline.counters.get(PREDICTIONS_AWAITING_LABEL) == 10
    assert pipeline.positions == {("predictions", 0): 11}


@pytest.mark.parametrize("value", [orjson.dumps({"prediction_id": "x", "label": 7})])
def test_positions_advance_past_rejected_labels(tmp_path: Path, value: bytes) -> None:
    config = make_config(tmp_path)
    pipeline, _collector = open_pipeline(config)
    rejected = pipeline.process([Record("labels", 4, 41, None, value)])
    assert [r.reason for r in rejected] == ["label_not_binary"]
    assert pipeline.positions == {("labels", 4): 42}


def test_a_prediction_far_ahead_of_the_clock_is_refused_not_counted(tmp_path: Path) -> None:
    # one broken producer clock must not carry event time (and the watermark) into the future,
    # where every later event would be too late
    config = make_config(tmp_path)
    now = 1_700_000_000.0
    predictions, _labels = make_events(3, start=now - 3600)
    wild = {**predictions[0], "prediction_id": "wild", "timestamp": now + 2 * 86400}
    pipeline, _collector = open_pipeline(config)
    pipeline.tick(now, {})
    stream = records("predictions", [*predictions, wild])
    rejected = pipeline.process(stream)
    assert [(r.reason, r.record.offset) for r in rejected] == [("future_timestamp", 3)]
    assert "pipeline.max_clock_skew" in rejected[0].detail
    assert pipeline.counters.get(PREDICTIONS_AWAITING_LABEL) == 3
    assert pipeline.watermark.max_event_time < now


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    partitions=st.integers(1, 4),
    seed=st.integers(0, 10_000),
    max_batch=st.integers(1, 700),
    restarts=st.integers(0, 3),
)
def test_in_order_events_are_never_late_whatever_the_interleaving(
    tmp_path_factory: pytest.TempPathFactory,
    partitions: int,
    seed: int,
    max_batch: int,
    restarts: int,
) -> None:
    # any interleaving of partitions (each in event-time order), any batch sizes, crashes after
    # a checkpoint: with the default allowed_lateness nothing is late and the counts are exact
    tmp_path = tmp_path_factory.mktemp("state")
    config = make_config(tmp_path, windows=["3h", "6h/3h"])  # few windows: a fast evaluation
    predictions, labels = make_events(300, seed=seed, spacing=600.0)  # 50 hours
    rng = random.Random(seed)
    stream = interleave(
        records("predictions", predictions, partitions=partitions)
        + records("labels", labels, partitions=partitions),
        rng,
    )
    crashes = sorted(rng.randrange(len(stream)) for _ in range(restarts))
    owned = {("predictions", p) for p in range(partitions)}
    done = 0
    for crash in [*crashes, len(stream)]:
        pipeline, collector = open_pipeline(config)
        pipeline.own_partitions(owned)
        position = done
        while position < crash:
            size = rng.randint(1, max_batch)
            pipeline.process(stream[position : min(crash, position + size)])
            position = min(crash, position + size)
        assert pipeline.counters.series(EVENTS_LATE) == {}
        if crash < len(stream):  # the changed windows are kept in the checkpoint
            pipeline.checkpoint()
            pipeline.close()
        done = crash
    pipeline.evaluate(now=0.0)
    latest = {(e.window, e.model_id, e.window_start): e for e in collector.evaluations}
    assert evaluation_counts(list(latest.values())) == reference_counts(
        predictions, labels, config.windows
    )
