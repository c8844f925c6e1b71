"""The contract checked field by field (docs/events.md): the path that names the reason.

The fast path (:mod:`monitor.stream.decode.fast`) decodes the common case; a record it refuses
comes here, which raises :class:`Reject` with the first problem found (or accepts a rarer form the
fast path does not cover, such as a label of 1.0).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from monitor.stream.decode.json_text import load_object
from monitor.stream.decode.reasons import Reason, Reject
from monitor.stream.decode.records import Record
from monitor.stream.decode.rules import DecodeRules

# Epoch numbers above this are milliseconds (1e11 s is the year 5138; 1e11 ms is 1973).
MILLISECONDS_ABOVE = 1e11
# Event times must be before the year 10000 (the last an RFC 3339 string can name): a larger one
# is a broken producer, and would otherwise carry event time (and the watermark) out of reach.
LATEST_EVENT_TIME = 253402300800.0


def parse_timestamp(value: Any) -> float:
    """Event time in epoch seconds from an RFC 3339 string or epoch seconds/milliseconds."""
    if isinstance(value, bool):
        raise Reject(
            Reason.BAD_TIMESTAMP, "timestamp must be an RFC 3339 string or an epoch number"
        )
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:  # an integer beyond any float
            number = math.inf
        if not math.isfinite(number) or number < 0:
            raise Reject(
                Reason.BAD_TIMESTAMP, f"timestamp {_short(value)} is not a valid epoch time"
            )
        seconds = number / 1000.0 if number > MILLISECONDS_ABOVE else number
        if seconds >= LATEST_EVENT_TIME:
            raise Reject(Reason.BAD_TIMESTAMP, f"timestamp {_short(value)} is after the year 9999")
        return seconds
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise Reject(
                Reason.BAD_TIMESTAMP, f"timestamp {value[:64]!r} is not RFC 3339"
            ) from None
        if parsed.tzinfo is None:
            raise Reject(Reason.BAD_TIMESTAMP, f"timestamp {value[:64]!r} has no time zone offset")
        return parsed.timestamp()
    raise Reject(Reason.WRONG_TYPE, "timestamp must be an RFC 3339 string or an epoch number")


def _binary(value: Any, name: str, reason: Reason) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        if value == 0 or value == 1:
            return int(value)
        raise Reject(reason, f"{name} must be 0 or 1, got {_short(value)}")
    raise Reject(Reason.WRONG_TYPE, f"{name} must be 0/1 or a boolean, got {type(value).__name__}")


def _string(event: Mapping[str, Any], name: str) -> str:
    value = event.get(name)
    if value is None:
        raise Reject(Reason.MISSING_FIELD, f"{name} is required")
    if not isinstance(value, str):
        raise Reject(Reason.WRONG_TYPE, f"{name} must be a string, got {type(value).__name__}")
    if not value:
        raise Reject(Reason.EMPTY_FIELD, f"{name} must not be empty")
    return value


def _short(value: Any) -> str:
    """A value for a detail: its repr, cut (a number may have thousands of digits)."""
    text = repr(value)
    return text if len(text) <= 64 else f"{text[:60]}...({len(text):,} characters)"


def _score(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Reject(Reason.WRONG_TYPE, f"score must be a number, got {type(value).__name__}")
    score = float(value)  # an integer is at most 20 digits here (see json_text._json_int)
    if not math.isfinite(score):
        raise Reject(Reason.NON_FINITE_SCORE, f"score {value!r} is not finite")
    if score < 0.0 or score > 1.0:
        raise Reject(Reason.SCORE_OUT_OF_RANGE, f"score {_short(value)} is outside [0, 1]")
    return score


def _sensitive(value: Any, attributes: Sequence[str]) -> dict[str, str]:
    if value is None:
        raise Reject(Reason.MISSING_FIELD, "sensitive is required")
    if not isinstance(value, dict):
        raise Reject(Reason.WRONG_TYPE, "sensitive must be an object of attribute → string value")
    if not value:
        raise Reject(Reason.MISSING_FIELD, "sensitive needs at least one attribute")
    for name in attributes:
        if name not in value:
            raise Reject(Reason.MISSING_ATTRIBUTE, f"sensitive.{name} is required by the config")
        group = value[name]
        if not isinstance(group, str):
            raise Reject(
                Reason.WRONG_TYPE, f"sensitive.{name} must be a string, got {type(group).__name__}"
            )
    return value


# An accepted prediction: (prediction_id, model_id, timestamp, decision, score, label, sensitive).
Row = tuple[str, str, float, int, float, int, dict[str, str]]


def decode_prediction(record: Record, rules: DecodeRules) -> Row:
    """One record, field by field, raising :class:`Reject` with the first problem found."""
    event = load_object(record, rules.max_event_bytes)
    prediction_id = _string(event, "prediction_id")
    model_id = _string(event, "model_id")
    if rules.known_models_only and model_id not in rules.thresholds:
        raise Reject(Reason.UNKNOWN_MODEL, f"model_id {model_id[:64]!r} is not configured")
    raw_time = event.get("timestamp")
    if raw_time is None:
        raise Reject(Reason.MISSING_FIELD, "timestamp is required")
    timestamp = parse_timestamp(raw_time)
    raw_score = event.get("score")
    score = math.nan if raw_score is None else _score(raw_score)
    raw_prediction = event.get("prediction")
    if raw_prediction is not None:
        decision = _binary(raw_prediction, "prediction", Reason.PREDICTION_NOT_BINARY)
    elif raw_score is not None:
        decision = int(score >= rules.thresholds.get(model_id, rules.default_threshold))
    else:
        raise Reject(Reason.MISSING_FIELD, "prediction or score is required")
    raw_label = event.get("label")
    label = -1 if raw_label is None else _binary(raw_label, "label", Reason.LABEL_NOT_BINARY)
    sensitive = _sensitive(event.get("sensitive"), rules.attributes)
    return prediction_id, model_id, timestamp, decision, score, label, sensitive


def decode_label(record: Record, rules: DecodeRules) -> tuple[str, int, float]:
    """One label record, field by field, raising :class:`Reject` with the first problem."""
    event = load_object(record, rules.max_event_bytes)
    prediction_id = _string(event, "prediction_id")
    raw_label = event.get("label")
    if raw_label is None:
        raise Reject(Reason.MISSING_FIELD, "label is required")
    label = _binary(raw_label, "label", Reason.LABEL_NOT_BINARY)
    raw_time = event.get("timestamp")
    timestamp = math.nan if raw_time is None else parse_timestamp(raw_time)
    return prediction_id, label, timestamp
