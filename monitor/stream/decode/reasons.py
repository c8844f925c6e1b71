"""Why a record is rejected: the :class:`Reason` enum, and the rejected record itself.

Bad input is data: a rejected record is an :class:`InvalidEvent` carrying the original bytes, its
reason and a readable detail. It is counted by reason
(``fairwatch_pipeline_events_invalid_total{topic, reason}``) and sent to the dead-letter topic
with the reason in the ``fairwatch.reason`` header. The reasons are listed, in this order, in
docs/events.md (a test keeps the two equal).
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from monitor.stream.decode.records import Record

logger = logging.getLogger(__name__)


class Reason(enum.StrEnum):
    """Every reason a record can be rejected for.

    Each value is a plain string (``Reason.TOO_LATE == "too_late"``): what the dead-letter header,
    the counter label and the docs show, byte for byte.
    """

    # refused by the decoder (monitor.stream.decode)
    EMPTY = "empty"
    OVERSIZED = "oversized"
    INVALID_JSON = "invalid_json"
    NOT_OBJECT = "not_object"
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    EMPTY_FIELD = "empty_field"
    NON_FINITE_SCORE = "non_finite_score"
    SCORE_OUT_OF_RANGE = "score_out_of_range"
    PREDICTION_NOT_BINARY = "prediction_not_binary"
    LABEL_NOT_BINARY = "label_not_binary"
    BAD_TIMESTAMP = "bad_timestamp"
    UNKNOWN_MODEL = "unknown_model"
    MISSING_ATTRIBUTE = "missing_attribute"
    # refused by the pipeline after decoding, by event time (monitor.stream.admission)
    TOO_LATE = "too_late"
    FUTURE_TIMESTAMP = "future_timestamp"
    # a pane-topic record the evaluator cannot use (kafka.mode: pane_counts)
    INVALID_PANE = "invalid_pane"
    # the decoder failed in a way it does not foresee (a fairwatch bug to report)
    DECODER_ERROR = "decoder_error"


@dataclass(frozen=True)
class InvalidEvent:
    """A record that could not be accepted: original bytes, reason and a human-readable detail."""

    record: Record
    reason: Reason
    detail: str


class Reject(Exception):
    """Raised inside the field-by-field decoder with the first problem found in a record."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def decoder_error(record: Record, error: Exception) -> InvalidEvent:
    """A message the decoder failed on in a way it does not foresee: rejected, not raised (a
    fairwatch bug to report, with the dead letter)."""
    logger.error(
        "event=decoder_error topic=%s partition=%s offset=%s error=%s",
        record.topic,
        record.partition,
        record.offset,
        type(error).__name__,
    )
    return InvalidEvent(record, Reason.DECODER_ERROR, f"{type(error).__name__}: {error}"[:200])
