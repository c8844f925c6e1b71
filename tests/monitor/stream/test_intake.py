"""The intake: duplicates ignored, predictions refused by event time with their Reason, labels
joined to their predictions (early ones waiting)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from monitor.config import WindowSpec
from monitor.stream.counters import EVENTS_DUPLICATE, LABELS_JOINED, PipelineCounters
from monitor.stream.counting import WindowCounts
from monitor.stream.decode import DecodeRules, Reason, Record, decode_batch
from monitor.stream.intake import Intake, first_occurrences
from monitor.stream.join import PendingStore
from monitor.stream.state import StateStore
from monitor.stream.window import Watermark

HOUR = 3600.0
DAY = 24 * HOUR
NOW = 1_700_000_000.0


@pytest.fixture
def intake(tmp_path: Path) -> Iterator[Intake]:
    store = StateStore(tmp_path / "state")
    counts = WindowCounts(
        [WindowSpec(name="1h", size=HOUR, step=HOUR)], ["sex"], [], 10, {}, {}, []
    )
    watermark = Watermark(allowed_lateness=0.0)
    watermark.tick(NOW)
    yield Intake(
        counts,
        PendingStore(store.connection, len(counts.columns)),
        watermark,
        PipelineCounters(),
        label_horizon=DAY,
        max_clock_skew=HOUR,
    )
    store.close()


def batch(topic: str, events: list[dict[str, Any]]) -> Any:
    records = [
        Record(topic, 0, offset, None, orjson.dumps(event)) for offset, event in enumerate(events)
    ]
    return decode_batch(records, DecodeRules(attributes=("sex",)), "predictions", "labels")


def prediction(key: str, time: float) -> dict[str, Any]:
    return {
        "prediction_id": key,
        "model_id": "m",
        "timestamp": time,
        "prediction": 1,
        "sensitive": {"sex": "F"},
    }


def test_first_occurrences_keep_the_first_position_of_each_id() -> None:
    assert first_occurrences(["a", "b", "a", "c", "b"]).tolist() == [0, 1, 3]


def test_predictions_too_old_or_too_far_ahead_are_refused_with_their_reason(
    intake: Intake,
) -> None:
    intake.add_predictions(batch("predictions", [prediction("now", NOW)]).predictions)
    decoded = batch(
        "predictions",
        [
            prediction("old", NOW - 2 * DAY),  # before the watermark minus the label horizon
            prediction("ahead", NOW + 2 * HOUR),  # beyond max_clock_skew
            prediction("fine", NOW - HOUR),
            prediction("fine", NOW - HOUR),  # a duplicate: ignored
        ],
    )
    refused = intake.add_predictions(decoded.predictions)
    assert {reason: rows.tolist() for reason, rows in refused.items()} == {
        Reason.TOO_LATE: [0],
        Reason.FUTURE_TIMESTAMP: [1],
    }
    assert intake.counters.get(EVENTS_DUPLICATE, kind="prediction") == 1
    [late] = intake.refused(decoded, refused[Reason.TOO_LATE], Reason.TOO_LATE, "predictions")
    assert (late.reason, late.record.offset) == (Reason.TOO_LATE, 0)
    assert "label_horizon" in late.detail
    [ahead] = intake.refused(
        decoded, refused[Reason.FUTURE_TIMESTAMP], Reason.FUTURE_TIMESTAMP, "predictions"
    )
    assert "pipeline.max_clock_skew" in ahead.detail and ahead.record.offset == 1


def test_a_label_joins_its_prediction_and_an_early_one_waits_for_it(intake: Intake) -> None:
    intake.add_predictions(batch("predictions", [prediction("a", NOW)]).predictions)
    intake.add_labels(
        batch(
            "labels", [{"prediction_id": "a", "label": 1}, {"prediction_id": "b", "label": 0}]
        ).labels
    )
    assert intake.counters.get(LABELS_JOINED) == 1
    assert intake.pending.early_labels == 1
    intake.add_predictions(batch("predictions", [prediction("b", NOW)]).predictions)
    assert intake.counters.get(LABELS_JOINED) == 2 and intake.pending.early_labels == 0
