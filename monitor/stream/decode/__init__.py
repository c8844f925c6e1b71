"""Decoding and validation of prediction and label events (the contract is in docs/events.md).

Bad input is data: the decoders never raise for a bad event. They return the good events in
columnar form (ready for vectorised counting) and one :class:`InvalidEvent` per bad record,
carrying the original bytes and a :class:`Reason`.

- :mod:`~monitor.stream.decode.records`: raw records, one by one or in columns;
- :mod:`~monitor.stream.decode.reasons`: why a record is rejected (the :class:`Reason` enum);
- :mod:`~monitor.stream.decode.rules`: what the decoder checks, from the configuration;
- :mod:`~monitor.stream.decode.events`: accepted events in columns;
- :mod:`~monitor.stream.decode.fields`: the contract field by field (names the reason), with
  :mod:`~monitor.stream.decode.json_text` for what orjson refuses;
- :mod:`~monitor.stream.decode.fast`: the typed decoding of a whole batch (msgspec);
- :mod:`~monitor.stream.decode.decoders`: one topic's records, through both paths;
- :mod:`~monitor.stream.decode.batch`: a batch of both topics, and where it ends;
- :mod:`~monitor.stream.decode.panes`: records of the pane topic (``kafka.mode: pane_counts``).
"""

from monitor.stream.decode.batch import (
    BatchDecoder,
    DecodedBatch,
    batch_decoder,
    decode_batch,
    decode_runs,
)
from monitor.stream.decode.decoders import decode_labels, decode_predictions
from monitor.stream.decode.events import Labels, Predictions
from monitor.stream.decode.fast import event_times
from monitor.stream.decode.fields import LATEST_EVENT_TIME, parse_timestamp
from monitor.stream.decode.json_text import MAX_NESTING
from monitor.stream.decode.reasons import InvalidEvent, Reason
from monitor.stream.decode.records import Record, RecordColumns, RecordRun
from monitor.stream.decode.rules import DEFAULT_MAX_EVENT_BYTES, DecodeRules, decode_rules

__all__ = [
    "DEFAULT_MAX_EVENT_BYTES",
    "LATEST_EVENT_TIME",
    "MAX_NESTING",
    "BatchDecoder",
    "DecodeRules",
    "DecodedBatch",
    "InvalidEvent",
    "Labels",
    "Predictions",
    "Reason",
    "Record",
    "RecordColumns",
    "RecordRun",
    "batch_decoder",
    "decode_batch",
    "decode_labels",
    "decode_predictions",
    "decode_rules",
    "decode_runs",
    "event_times",
    "parse_timestamp",
]
