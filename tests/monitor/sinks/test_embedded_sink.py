"""The embedded SQLite sink: same rows as InfluxDB, upsert on identity, read API."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.engine.results import WindowEvaluation
from monitor.sinks.embedded import EmbeddedSink
from monitor.sinks.errors import SinkClosedError
from monitor.sinks.points import (
    DISPARITY_MEASUREMENT,
    GROUP_MEASUREMENT,
    PIPELINE_MEASUREMENT,
    evaluation_rows,
    pipeline_rows,
)
from monitor.types import CounterSample
from tests.monitor.sinks.sink_builders import make_evaluation


def _canonical(rows: list) -> list:
    return sorted((row.identity(), sorted(row.fields.items())) for row in rows)


def test_stores_exactly_the_rows_of_the_schema(
    tmp_path: Path, evaluation: WindowEvaluation
) -> None:
    sink = EmbeddedSink(tmp_path / "metrics.db")
    sink.on_evaluations([evaluation], now=0, watermark=0)
    expected = evaluation_rows([evaluation])
    for measurement in (GROUP_MEASUREMENT, DISPARITY_MEASUREMENT):
        stored = sink.rows(measurement)
        assert _canonical(stored) == _canonical(
            [row for row in expected if row.measurement == measurement]
        )
    sink.close()


def test_a_file_written_before_new_fields_gains_their_columns(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE fairness_disparity (model_id TEXT NOT NULL DEFAULT '', attribute TEXT "
            "NOT NULL DEFAULT '', window TEXT NOT NULL DEFAULT '', metric TEXT NOT NULL DEFAULT "
            "'', \"group\" TEXT NOT NULL DEFAULT '', reference_group TEXT NOT NULL DEFAULT '', "
            "labels TEXT NOT NULL DEFAULT '{}', time REAL NOT NULL, value REAL, ci_low REAL, "
            "ci_high REAL, threshold REAL, min_group_n INTEGER, status TEXT, mode TEXT, "
            'PRIMARY KEY (model_id, attribute, window, metric, "group", reference_group, '
            "labels, time))"
        )
    sink = EmbeddedSink(path)
    sink.on_evaluations([make_evaluation()], now=0, watermark=0)
    (parity,) = sink.disparities(metric="demographic_parity_difference")
    assert parity["value"] == 0.1 and "small_groups" not in parity
    sink.close()


def test_rewriting_a_window_replaces_its_rows(tmp_path: Path) -> None:
    sink = EmbeddedSink(tmp_path / "metrics.db")
    sink.on_evaluations([make_evaluation(selection_gap=0.05)], now=0, watermark=0)
    sink.on_evaluations([make_evaluation(selection_gap=0.25)], now=1, watermark=1)
    rows = sink.disparities(metric="demographic_parity_difference")
    assert len(rows) == 1
    assert rows[0]["value"] == 0.25 and rows[0]["status"] == "breach"
    assert len(sink.groups()) == 3
    sink.on_evaluations([make_evaluation(window_end=1_700_007_200.0)], now=2, watermark=2)
    assert len(sink.groups(model_id="credit", attribute="sex")) == 4
    assert [row["time"] for row in sink.groups(attribute="race")] == [
        1_700_003_600.0,
        1_700_007_200.0,
    ]


def test_read_api_filters_and_leaves_undefined_out(
    tmp_path: Path, evaluation: WindowEvaluation
) -> None:
    sink = EmbeddedSink(tmp_path / "metrics.db")
    sink.on_evaluations([evaluation, make_evaluation(model_id="other")], now=0, watermark=0)
    assert sink.models() == ["credit", "other"]
    black = sink.groups(model_id="credit", attribute="race")
    assert len(black) == 1 and "tpr" not in black[0] and black[0]["n"] == 10
    odds = sink.disparities(model_id="credit", attribute="race")[0]
    assert "value" not in odds and odds["status"] == "not_computable"
    ratio = sink.disparities(metric="selection_rate_ratio_to_reference", model_id="credit")[0]
    assert ratio["group"] == "Female" and ratio["reference_group"] == "Male"
    assert sink.groups(since=1_700_003_601.0) == []


def test_survives_reopening_and_pipeline_samples(
    tmp_path: Path, evaluation: WindowEvaluation
) -> None:
    path = tmp_path / "nested" / "metrics.db"
    sink = EmbeddedSink(path)
    sink.on_evaluations([evaluation], now=0, watermark=0)
    samples = [
        CounterSample("fairwatch_pipeline_events_invalid_total", 3, {"reason": "bad_json"}),
        CounterSample("fairwatch_pipeline_predictions_awaiting_label", 5, {}, kind="gauge"),
    ]
    sink.write_pipeline(samples, now=10.0)
    sink.write_pipeline(
        [CounterSample("fairwatch_pipeline_events_invalid_total", 4, {"reason": "bad_json"})],
        now=10.0,
    )
    sink.close()
    with pytest.raises(SinkClosedError):
        sink.groups()
    reopened = EmbeddedSink(path)
    assert len(reopened.groups()) == 3
    assert reopened.pipeline("fairwatch_pipeline_events_invalid_total") == [
        {
            "reason": "bad_json",
            "name": "fairwatch_pipeline_events_invalid_total",
            "time": 10.0,
            "value": 4.0,
        }
    ]
    assert _canonical(reopened.rows(PIPELINE_MEASUREMENT)) == _canonical(
        pipeline_rows(
            [
                samples[1],
                CounterSample("fairwatch_pipeline_events_invalid_total", 4, {"reason": "bad_json"}),
            ],
            10.0,
        )
    )
    assert reopened.backlog() == 0 and not reopened.is_full()
    reopened.close()
