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
    """Accepted prediction events in columnar form (one entry per event, in record order).

    ``sensitive`` holds one column of group values per configured attribute; ``score`` is NaN
    where the event had none and ``label`` is -1 where it had none.
    """

    prediction_id: list[str] = field(default_factory=list)
    model_id: list[str] = field(default_factory=list)
    timestamp: np.ndarray = field(default_factory=lambda: np.empty(0))
    prediction: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    score: np.ndarray = field(default_factory=lambda: np.empty(0))
    label: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    sensitive: dict[str, list[str]] = field(default_factory=dict)
    partition: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.prediction_id)


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
    for name in attributes:
        if name not in value:
            raise _Reject("missing_attribute", f"sensitive.{name} is required by the config")
        group = value[name]
        if not isinstance(group, str):
            raise _Reject(
                "wrong_type", f"sensitive.{name} must be a string, got {type(group).__name__}"
            )
    return value


_Row = tuple[str, str, float, int, float, int, dict[str, str]]
_NUMBER = (int, float)


def _decode_prediction(record: Record, rules: DecodeRules) -> _Row:
    """One record, field by field, raising :class:`_Reject` with the first problem found."""
    event = _object(record, rules.max_event_bytes)
    prediction_id = _string(event, "prediction_id")
    model_id = _string(event, "model_id")
    if rules.known_models_only and model_id not in rules.thresholds:
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
        decision = int(score >= rules.thresholds.get(model_id, rules.default_threshold))
    else:
        raise _Reject("missing_field", "prediction or score is required")
    raw_label = event.get("label")
    label = -1 if raw_label is None else _binary(raw_label, "label", "label_not_binary")
    sensitive = _sensitive(event.get("sensitive"), rules.attributes)
    return prediction_id, model_id, timestamp, decision, score, label, sensitive


def _time_or_nan(value: Any) -> float:
    """Seconds from an RFC 3339 string, NaN for anything the fast path leaves to the slow one."""
    if type(value) is not str:
        return math.nan
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return math.nan
    return math.nan if parsed.tzinfo is None else parsed.timestamp()


def _is_binary(value: Any) -> bool:
    return value is None or (type(value) in (int, bool) and (value == 0 or value == 1))


def _parse_objects(
    records: Sequence[Record], max_bytes: int
) -> tuple[list[dict[str, Any]], list[int], list[int]]:
    """Parse every record: the JSON objects, their record indexes, and the records left to the
    field-by-field path (empty, oversized, not JSON, not an object)."""
    values = [record.value for record in records]
    if values and all(values) and max(map(len, values)) <= max_bytes:  # type: ignore[arg-type]
        try:
            parsed = [orjson.loads(value) for value in values]  # type: ignore[arg-type]
        except orjson.JSONDecodeError:
            pass
        else:
            if all(type(event) is dict for event in parsed):
                return parsed, list(range(len(parsed))), []
    events: list[dict[str, Any]] = []
    indexes: list[int] = []
    slow: list[int] = []
    for index, raw in enumerate(values):
        if not raw or len(raw) > max_bytes:
            slow.append(index)
            continue
        try:
            event = orjson.loads(raw)
        except orjson.JSONDecodeError:
            slow.append(index)
            continue
        if type(event) is dict:
            events.append(event)
            indexes.append(index)
        else:
            slow.append(index)
    return events, indexes, slow


def decode_predictions(
    records: Sequence[Record], rules: DecodeRules
) -> tuple[Predictions, list[InvalidEvent]]:
    """Decode prediction records into accepted events and rejected ones (never raises).

    The common case is vectorised: every record is parsed, each field is pulled out as a column
    and checked with cheap type tests (numbers with numpy). Only records failing a test go
    through the field-by-field path, which names the exact reason (or accepts the rare form the
    fast test does not cover, such as a label of ``1.0``).
    """
    events, indexes, slow = _parse_objects(records, rules.max_event_bytes)
    attributes = rules.attributes
    ids = [event.get("prediction_id") for event in events]
    models = [event.get("model_id") for event in events]
    times = [event.get("timestamp") for event in events]
    decisions = [event.get("prediction") for event in events]
    scores = [event.get("score") for event in events]
    labels = [event.get("label") for event in events]
    sensitive = [event.get("sensitive") for event in events]
    columns = {
        name: [value.get(name) if type(value) is dict else None for value in sensitive]
        for name in attributes
    }
    thresholds = rules.thresholds
    known_only = rules.known_models_only
    good = [
        type(prediction_id) is str
        and prediction_id != ""
        and type(model_id) is str
        and model_id != ""
        and (not known_only or model_id in thresholds)
        and (score is None or type(score) in _NUMBER)
        and (decision is not None or score is not None)
        and _is_binary(decision)
        and _is_binary(label)
        for prediction_id, model_id, decision, score, label in zip(
            ids, models, decisions, scores, labels, strict=True
        )
    ]
    for values in columns.values():
        good = [ok and type(value) is str for ok, value in zip(good, values, strict=True)]
    stamp = score_array = np.empty(0)
    if events:
        stamp = np.asarray(
            [t if type(t) in _NUMBER else _time_or_nan(t) for t in times], dtype=np.float64
        )
        score_array = np.asarray(
            [math.nan if s is None or not ok else s for s, ok in zip(scores, good, strict=True)],
            dtype=np.float64,
        )
        with np.errstate(invalid="ignore"):
            numeric_ok = (stamp >= 0) & np.isfinite(stamp)
            numeric_ok &= np.isnan(score_array) | ((score_array >= 0) & (score_array <= 1))
        present = np.asarray([s is not None for s in scores], dtype=bool)
        numeric_ok &= ~(present & np.isnan(score_array))  # a present score must be finite
        if not numeric_ok.all():
            good = [ok and bool(n) for ok, n in zip(good, numeric_ok.tolist(), strict=True)]
    keep = [position for position, ok in enumerate(good) if ok]
    slow.extend(indexes[position] for position, ok in enumerate(good) if not ok)
    out = Predictions()
    if keep:
        all_good = len(keep) == len(events)
        pick: Any = (
            (lambda values: values)
            if all_good
            else (lambda values: [values[position] for position in keep])
        )
        out.prediction_id = pick(ids)
        out.model_id = pick(models)
        keep_array = np.asarray(keep, dtype=np.int64)
        timestamp = stamp[keep_array]
        out.timestamp = np.where(timestamp > _MILLISECONDS_ABOVE, timestamp / 1000.0, timestamp)
        # (RFC 3339 strings parse to seconds, always far below the milliseconds cut-off)
        out.score = score_array[keep_array]
        decision_list = pick(decisions)
        if any(decision is None for decision in decision_list):
            threshold = np.asarray(
                [thresholds.get(model, rules.default_threshold) for model in out.model_id]
            )
            from_score = (out.score >= threshold).astype(np.int64)
            out.prediction = np.asarray(
                [
                    int(d) if d is not None else s
                    for d, s in zip(decision_list, from_score.tolist(), strict=True)
                ],
                dtype=np.int64,
            )
        else:
            out.prediction = np.asarray(decision_list, dtype=np.int64)
        out.label = np.asarray(
            [-1 if label is None else int(label) for label in pick(labels)], dtype=np.int64
        )
        out.sensitive = {name: pick(values) for name, values in columns.items()}
        out.partition = np.asarray([records[indexes[p]].partition for p in keep], np.int64)
    errors: list[InvalidEvent] = []
    accepted: list[tuple[int, _Row]] = []
    for index in sorted(slow):
        record = records[index]
        try:
            accepted.append((index, _decode_prediction(record, rules)))
        except _Reject as reject:
            errors.append(InvalidEvent(record, reject.reason, reject.detail))
    if accepted:
        out = _merge(out, [indexes[p] for p in keep], accepted, records, attributes)
    return out, errors


def _merge(
    fast: Predictions,
    fast_indexes: list[int],
    slow: list[tuple[int, _Row]],
    records: Sequence[Record],
    attributes: Sequence[str],
) -> Predictions:
    """Both paths' accepted events, back in record order."""
    rows: list[tuple[int, _Row]] = [
        (
            index,
            (
                fast.prediction_id[position],
                fast.model_id[position],
                float(fast.timestamp[position]),
                int(fast.prediction[position]),
                float(fast.score[position]),
                int(fast.label[position]),
                {name: fast.sensitive[name][position] for name in attributes},
            ),
        )
        for position, index in enumerate(fast_indexes)
    ]
    rows.extend(slow)
    rows.sort(key=lambda item: item[0])
    out = Predictions()
    out.prediction_id = [row[0] for _i, row in rows]
    out.model_id = [row[1] for _i, row in rows]
    out.timestamp = np.asarray([row[2] for _i, row in rows], dtype=np.float64)
    out.prediction = np.asarray([row[3] for _i, row in rows], dtype=np.int64)
    out.score = np.asarray([row[4] for _i, row in rows], dtype=np.float64)
    out.label = np.asarray([row[5] for _i, row in rows], dtype=np.int64)
    out.sensitive = {name: [row[6][name] for _i, row in rows] for name in attributes}
    out.partition = np.asarray([records[index].partition for index, _row in rows], np.int64)
    return out


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
