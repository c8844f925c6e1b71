"""The reasons a record is rejected for: one enum, whose values are what the wire, the counters and
the docs show."""

from __future__ import annotations

import re

from monitor.kafka.deadletter import HEADER_REASON, headers
from monitor.stream.counters import EVENTS_INVALID, PipelineCounters
from monitor.stream.decode import InvalidEvent, Reason, Record
from tests.paths import ROOT


def documented_reasons() -> list[str]:
    """The first column of the reason table of docs/events.md, in order."""
    text = (ROOT / "docs" / "events.md").read_text()
    table = text.split("| reason | when |", 1)[1].split("\n\n", 1)[0]
    return re.findall(r"^\| `([a-z_]+)` \|", table, re.MULTILINE)


def test_the_documented_reasons_are_the_enum_in_order() -> None:
    assert documented_reasons() == [reason.value for reason in Reason]


def test_a_reason_is_its_plain_string_on_the_wire_and_in_counter_labels() -> None:
    record = Record("predictions", 1, 7, b"k", b"{}")
    error = InvalidEvent(record, Reason.TOO_LATE, "too old")
    assert dict(headers(error))[HEADER_REASON] == b"too_late"
    counters = PipelineCounters()
    counters.inc(EVENTS_INVALID, topic="predictions", reason=error.reason)
    [sample] = [sample for sample in counters.samples() if sample.name == EVENTS_INVALID.name]
    assert sample.labels == {"topic": "predictions", "reason": "too_late"}
    assert counters.series(EVENTS_INVALID) == {("predictions", "too_late"): 1}
    assert f"{Reason.DECODER_ERROR}" == "decoder_error"
