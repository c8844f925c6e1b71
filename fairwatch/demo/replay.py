"""The demo's events as a replay: the records a Kafka consumer would hand over, and when each
arrives (see :mod:`fairwatch.replay` for the clock and the source that replay them)."""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from fairwatch.demo.scenario import StreamEvent
from monitor.stream.decode import Record


def encode(
    events: Sequence[StreamEvent],
    predictions_topic: str = "predictions",
    labels_topic: str = "labels",
) -> list[Record]:
    """The events as the records a Kafka consumer would hand over (one partition per topic)."""
    names = {"predictions": predictions_topic, "labels": labels_topic}
    offsets = {"predictions": 0, "labels": 0}
    records = []
    for event in events:
        offset = offsets[event.topic]
        offsets[event.topic] = offset + 1
        records.append(
            Record(names[event.topic], 0, offset, event.key.encode(), orjson.dumps(event.body))
        )
    return records
