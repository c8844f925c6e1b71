"""Decoding and validation of prediction and label events (the contract is in docs/events.md).

Bad input is data: :func:`decode_predictions` and :func:`decode_labels` never raise for a bad
event. They return the good events in columnar form (ready for vectorised counting) and one
:class:`InvalidEvent` per bad record, carrying the original bytes and a machine-readable reason.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import numpy as np
import orjson

# Every reason a record can be rejected for; counted by reason and sent to the dead-letter topic.
REASONS: tuple[str, ...] = (
    "empty",
    "oversized",
    "invalid_json",
    "not_object",
    "missing_field",
    "wrong_type",
    "empty_field",
    "non_finite_score",
    "score_out_of_range",
    "prediction_not_binary",
    "label_not_binary",
    "bad_timestamp",
    "unknown_model",
    "missing_attribute",
)

DEFAULT_MAX_EVENT_BYTES = 65536
# Epoch numbers above this are milliseconds (1e11 s is the year 5138; 1e11 ms is 1973).
_MILLISECONDS_ABOVE = 1e11


class Record(NamedTuple):
    """One raw message as it came from a topic partition."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True)
class InvalidEvent:
    """A record that could not be accepted: original bytes, reason and a human-readable detail."""

    record: Record
    reason: str
    detail: str


class _Reject(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass
class Predictions:
    """Accepted prediction events, one list/array entry per event (columnar)."""

    prediction_id: list[str] = field(default_factory=list)
    model_id: list[str] = field(default_factory=list)
    timestamp: list[float] = field(default_factory=list)
    prediction: list[int] = field(default_factory=list)
    score: list[float] = field(default_factory=list)  # NaN when absent
    label: list[int] = field(default_factory=list)  # -1 when unknown
    sensitive: list[dict[str, str]] = field(default_factory=list)
    partition: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.prediction_id)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``timestamp``, ``prediction``, ``score``, ``label`` as numpy arrays."""
        return (
            np.asarray(self.timestamp, dtype=np.float64),
            np.asarray(self.prediction, dtype=np.int64),
            np.asarray(self.score, dtype=np.float64),
            np.asarray(self.label, dtype=np.int64),
        )


@dataclass
class Labels:
    """Accepted label events (columnar); ``timestamp`` is NaN when the event had none."""

    prediction_id: list[str] = field(default_factory=list)
    label: list[int] = field(default_factory=list)
    timestamp: list[float] = field(default_factory=list)
    partition: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.prediction_id)


@dataclass(frozen=True)
class DecodeRules:
    """What the decoder checks beyond the contract's shapes, from the configuration.

    ``thresholds`` maps each known model to its decision threshold; when ``known_models_only`` is
    set, any other model is rejected as ``unknown_model``. ``attributes`` lists the sensitive
    attributes every prediction must carry.
    """

    thresholds: Mapping[str, float] = field(default_factory=dict)
    default_threshold: float = 0.5
    known_models_only: bool = False
    attributes: tuple[str, ...] = ()
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES


def parse_timestamp(value: Any) -> float:
    """Event time in epoch seconds from an RFC 3339 string or epoch seconds/milliseconds."""
    if isinstance(value, bool):
        raise _Reject("bad_timestamp", "timestamp must be an RFC 3339 string or an epoch number")
    if isinstance(value, int | float):
        number = float(value)
        if not math.isfinite(number) or number < 0:
            raise _Reject("bad_timestamp", f"timestamp {value!r} is not a valid epoch time")
        return number / 1000.0 if number > _MILLISECONDS_ABOVE else number
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise _Reject("bad_timestamp", f"timestamp {value[:64]!r} is not RFC 3339") from None
        if parsed.tzinfo is None:
            raise _Reject("bad_timestamp", f"timestamp {value[:64]!r} has no time zone offset")
        return parsed.timestamp()
    raise _Reject("wrong_type", "timestamp must be an RFC 3339 string or an epoch number")


def _binary(value: Any, name: str, reason: str) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        if value == 0 or value == 1:
            return int(value)
        raise _Reject(reason, f"{name} must be 0 or 1, got {value!r}")
    raise _Reject("wrong_type", f"{name} must be 0/1 or a boolean, got {type(value).__name__}")


def _string(event: Mapping[str, Any], name: str) -> str:
    value = event.get(name)
    if value is None:
        raise _Reject("missing_field", f"{name} is required")
    if not isinstance(value, str):
        raise _Reject("wrong_type", f"{name} must be a string, got {type(value).__name__}")
    if not value:
        raise _Reject("empty_field", f"{name} must not be empty")
    return value


def _object(record: Record, max_bytes: int) -> dict[str, Any]:
    raw = record.value
    if not raw:
        raise _Reject("empty", "the message has no value")
    if len(raw) > max_bytes:
        raise _Reject("oversized", f"{len(raw)} bytes exceed the limit of {max_bytes}")
    try:
        event = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        event = _lenient_loads(raw, str(error))
    if not isinstance(event, dict):
        raise _Reject("not_object", f"expected a JSON object, got {type(event).__name__}")
    return event


def _lenient_loads(raw: bytes, strict_error: str) -> Any:
    """The slow path for what orjson refuses: JSON with NaN/Infinity literals (as written by
    Python's json module) is read so that the score check can name the real problem."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise _Reject("invalid_json", strict_error[:200]) from None


def _score(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Reject("wrong_type", f"score must be a number, got {type(value).__name__}")
    score = float(value)
    if not math.isfinite(score):
        raise _Reject("non_finite_score", f"score {value!r} is not finite")
    if score < 0.0 or score > 1.0:
        raise _Reject("score_out_of_range", f"score {value!r} is outside [0, 1]")
    return score


def _sensitive(value: Any, attributes: Sequence[str]) -> dict[str, str]:
    if value is None:
        raise _Reject("missing_field", "sensitive is required")
    if not isinstance(value, dict):
        raise _Reject("wrong_type", "sensitive must be an object of attribute → string value")
    if not value:
        raise _Reject("missing_field", "sensitive needs at least one attribute")
    for name, group in value.items():
        if not isinstance(group, str):
            raise _Reject(
                "wrong_type", f"sensitive.{name} must be a string, got {type(group).__name__}"
            )
    for name in attributes:
        if name not in value:
            raise _Reject("missing_attribute", f"sensitive.{name} is required by the config")
    return value


def decode_predictions(
    records: Sequence[Record], rules: DecodeRules
) -> tuple[Predictions, list[InvalidEvent]]:
    """Decode prediction records into accepted events and rejected ones (never raises)."""
    out = Predictions()
    errors: list[InvalidEvent] = []
    thresholds = rules.thresholds
    known_only = rules.known_models_only
    attributes = rules.attributes
    for record in records:
        try:
            event = _object(record, rules.max_event_bytes)
            prediction_id = _string(event, "prediction_id")
            model_id = _string(event, "model_id")
            if known_only and model_id not in thresholds:
                raise _Reject("unknown_model", f"model_id {model_id[:64]!r} is not configured")
            raw_time = event.get("timestamp")
            if raw_time is None:
                raise _Reject("missing_field", "timestamp is required")
            timestamp = parse_timestamp(raw_time)
            raw_score = event.get("score")
            score = math.nan if raw_score is None else _score(raw_score)
            raw_prediction = event.get("prediction")
            if raw_prediction is not None:
                decision = _binary(raw_prediction, "prediction", "prediction_not_binary")
            elif raw_score is not None:
                decision = int(score >= thresholds.get(model_id, rules.default_threshold))
            else:
                raise _Reject("missing_field", "prediction or score is required")
            raw_label = event.get("label")
            label = -1 if raw_label is None else _binary(raw_label, "label", "label_not_binary")
            sensitive = _sensitive(event.get("sensitive"), attributes)
        except _Reject as reject:
            errors.append(InvalidEvent(record, reject.reason, reject.detail))
            continue
        out.prediction_id.append(prediction_id)
        out.model_id.append(model_id)
        out.timestamp.append(timestamp)
        out.prediction.append(decision)
        out.score.append(score)
        out.label.append(label)
        out.sensitive.append(sensitive)
        out.partition.append(record.partition)
    return out, errors


def decode_labels(
    records: Sequence[Record], rules: DecodeRules
) -> tuple[Labels, list[InvalidEvent]]:
    """Decode label records into accepted labels and rejected ones (never raises)."""
    out = Labels()
    errors: list[InvalidEvent] = []
    for record in records:
        try:
            event = _object(record, rules.max_event_bytes)
            prediction_id = _string(event, "prediction_id")
            raw_label = event.get("label")
            if raw_label is None:
                raise _Reject("missing_field", "label is required")
            label = _binary(raw_label, "label", "label_not_binary")
            raw_time = event.get("timestamp")
            timestamp = math.nan if raw_time is None else parse_timestamp(raw_time)
        except _Reject as reject:
            errors.append(InvalidEvent(record, reject.reason, reject.detail))
            continue
        out.prediction_id.append(prediction_id)
        out.label.append(label)
        out.timestamp.append(timestamp)
        out.partition.append(record.partition)
    return out, errors
