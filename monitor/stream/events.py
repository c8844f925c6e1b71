"""Decoding and validation of prediction and label events (the contract is in docs/events.md).

Bad input is data: :func:`decode_predictions` and :func:`decode_labels` never raise for a bad
event. They return the good events in columnar form (ready for vectorised counting) and one
:class:`InvalidEvent` per bad record, carrying the original bytes and a machine-readable reason.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import operator
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal, NamedTuple, cast

import msgspec
import numpy as np
import orjson

from monitor.config.pipeline import DEFAULT_MAX_EVENT_BYTES
from monitor.config.sections import DEFAULT_THRESHOLD

logger = logging.getLogger(__name__)

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
    "decoder_error",
    # refused by the pipeline after decoding (see docs/events.md)
    "too_late",
    "future_timestamp",
)

# Deepest nesting of objects and arrays a message may have (orjson's own limit).
MAX_NESTING = 1024
# Epoch numbers above this are milliseconds (1e11 s is the year 5138; 1e11 ms is 1973).
_MILLISECONDS_ABOVE = 1e11
# Event times must be before the year 10000 (the last an RFC 3339 string can name): a larger one
# is a broken producer, and would otherwise carry event time (and the watermark) out of reach.
LATEST_EVENT_TIME = 253402300800.0


class Record(NamedTuple):
    """One raw message as it came from a topic partition."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


# The records of one topic partition in columns: (topic, partition, offsets, keys, values).
RecordRun = tuple[str, int, list[int], list[bytes | None], list[bytes | None]]


@dataclass
class RecordColumns:
    """Records of one topic in columns: what the decoders read, and (as :data:`RecordRun`
    pieces) how the consumer process hands records over (a few lists pickle many times faster
    than a list of tuples)."""

    topic: str
    partition: np.ndarray  # int64, one per record
    offset: list[int]
    key: list[bytes | None]
    value: list[bytes | None]
    records: Sequence[Record] | None = None  # the records these columns were made from

    def __len__(self) -> int:
        return len(self.value)

    def record(self, index: int) -> Record:
        """The record at ``index`` (the original object when made from records)."""
        if self.records is not None:
            return self.records[index]
        return Record(
            self.topic,
            int(self.partition[index]),
            self.offset[index],
            self.key[index],
            self.value[index],
        )

    @classmethod
    def of(cls, records: Sequence[Record] | RecordColumns) -> RecordColumns:
        if isinstance(records, RecordColumns):
            return records
        return cls(
            records[0].topic if records else "",
            np.fromiter((record.partition for record in records), np.int64, len(records)),
            [record.offset for record in records],
            [record.key for record in records],
            [record.value for record in records],
            records,
        )

    @classmethod
    def from_runs(cls, topic: str, runs: Sequence[RecordRun]) -> RecordColumns:
        """One topic's records from its partitions' runs, in the order given."""
        offsets: list[int] = []
        keys: list[bytes | None] = []
        values: list[bytes | None] = []
        for _topic, _partition, run_offsets, run_keys, run_values in runs:
            offsets.extend(run_offsets)
            keys.extend(run_keys)
            values.extend(run_values)
        partition = np.repeat(
            np.asarray([run[1] for run in runs], dtype=np.int64),
            [len(run[2]) for run in runs],
        )
        return cls(topic, partition, offsets, keys, values)


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
    # index of each event's record in the decoded RecordColumns (to dead-letter it later)
    position: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))

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
    default_threshold: float = DEFAULT_THRESHOLD
    known_models_only: bool = False
    attributes: tuple[str, ...] = ()
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES


def parse_timestamp(value: Any) -> float:
    """Event time in epoch seconds from an RFC 3339 string or epoch seconds/milliseconds."""
    if isinstance(value, bool):
        raise _Reject("bad_timestamp", "timestamp must be an RFC 3339 string or an epoch number")
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:  # an integer beyond any float
            number = math.inf
        if not math.isfinite(number) or number < 0:
            raise _Reject("bad_timestamp", f"timestamp {_short(value)} is not a valid epoch time")
        seconds = number / 1000.0 if number > _MILLISECONDS_ABOVE else number
        if seconds >= LATEST_EVENT_TIME:
            raise _Reject("bad_timestamp", f"timestamp {_short(value)} is after the year 9999")
        return seconds
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
        raise _Reject(reason, f"{name} must be 0 or 1, got {_short(value)}")
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


def _short(value: Any) -> str:
    """A value for a detail: its repr, cut (a number may have thousands of digits)."""
    text = repr(value)
    return text if len(text) <= 64 else f"{text[:60]}...({len(text):,} characters)"


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
    Python's json module) is read so that the score check can name the real problem.

    Everything else orjson refuses stays refused, as ``invalid_json`` with a detail naming the
    problem: bytes that are not UTF-8 (a UTF-16 text, an encoded surrogate), nesting deeper
    than :data:`MAX_NESTING`, a string escape that is a lone UTF-16 surrogate (``"\\ud800"``,
    which has no UTF-8 form and could not be stored). Integers too long for a 64-bit integer
    are read as floats, as orjson reads them (so 10**400 is infinite, never an error).
    """
    try:
        text = raw.decode("utf-8")  # strict: Python's json would take UTF-16 and surrogates
    except UnicodeDecodeError as error:
        raise _Reject(
            "invalid_json",
            f"not UTF-8: byte 0x{raw[error.start]:02x} at position {error.start} ({error.reason})",
        ) from None
    if text.count("[") + text.count("{") > MAX_NESTING and _deeper_than(text, MAX_NESTING):
        raise _Reject("invalid_json", f"nested more than {MAX_NESTING:,} levels deep")
    try:
        event = json.loads(text, parse_int=_json_int)
    except RecursionError:
        raise _Reject("invalid_json", "nested too deep to parse") from None
    except ValueError:
        raise _Reject("invalid_json", strict_error[:200]) from None
    if "\\u" in text and _has_lone_surrogate(event):
        raise _Reject(
            "invalid_json", "a string holds a lone UTF-16 surrogate escape (no UTF-8 form)"
        )
    return event


def _json_int(text: str) -> int | float:
    """An integer literal as orjson reads it: exact within 64 bits, else a float."""
    return int(text) if len(text) <= 20 else float(text)


# A string (up to its closing quote, or the end of an unterminated one) or a bracket: one scan.
_STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.DOTALL)


def _deeper_than(text: str, limit: int) -> bool:
    """Whether objects and arrays nest more than ``limit`` levels (brackets inside strings do
    not count), without parsing: a parser would recurse that deep."""
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > limit:
                return True
        elif token in "]}":
            depth -= 1
    return False


def _has_lone_surrogate(value: Any) -> bool:
    """Whether any string (key or value) in a decoded JSON value holds a lone surrogate."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    return True
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _score(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Reject("wrong_type", f"score must be a number, got {type(value).__name__}")
    score = float(value)  # an integer is at most 20 digits here (see _json_int)
    if not math.isfinite(score):
        raise _Reject("non_finite_score", f"score {value!r} is not finite")
    if score < 0.0 or score > 1.0:
        raise _Reject("score_out_of_range", f"score {_short(value)} is outside [0, 1]")
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


def _decoder_error(record: Record, error: Exception) -> InvalidEvent:
    """A message the decoder failed on in a way it does not foresee: rejected, not raised (a
    fairwatch bug to report, with the dead letter)."""
    logger.error(
        "event=decoder_error topic=%s partition=%s offset=%s error=%s",
        record.topic,
        record.partition,
        record.offset,
        type(error).__name__,
    )
    return InvalidEvent(record, "decoder_error", f"{type(error).__name__}: {error}"[:200])


def _time_or_nan(value: Any) -> float:
    """Seconds from an RFC 3339 string, NaN for anything the fast path leaves to the slow one."""
    if type(value) is not str:
        return math.nan
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return math.nan
    return math.nan if parsed.tzinfo is None else parsed.timestamp()


# -- the fast path: typed decoding of a whole batch with msgspec ------------------------------
#
# Each decoder checks the contract's shapes in C while it parses (strings present and non-empty,
# a non-negative event time, a score in [0, 1], 0/1 decisions and labels, every configured
# attribute a string). Anything it refuses goes to the field-by-field path, which names the
# reason (or accepts a rarer form, such as a label of 1.0).

_NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]
_Time = Annotated[float, msgspec.Meta(ge=0)] | str
_Binary = Literal[0, 1] | bool


@functools.lru_cache(maxsize=16)
def _prediction_decoder(attributes: tuple[str, ...]) -> msgspec.json.Decoder[Any]:
    # attribute names need not be identifiers: fields a0, a1, ... are renamed to them
    sensitive: Any = msgspec.defstruct(
        "Sensitive",
        [(f"a{position}", str) for position in range(len(attributes))],
        rename={f"a{position}": name for position, name in enumerate(attributes)},
    )
    if not attributes:
        sensitive = Annotated[dict[str, Any], msgspec.Meta(min_length=1)]
    event = msgspec.defstruct(
        "PredictionEvent",
        [
            ("prediction_id", _NonEmpty),
            ("model_id", _NonEmpty),
            ("timestamp", _Time),
            ("sensitive", sensitive),
            ("score", Annotated[float, msgspec.Meta(ge=0, le=1)] | None, None),
            ("prediction", _Binary | None, None),
            ("label", _Binary | None, None),
        ],
    )
    return msgspec.json.Decoder(event)


_LABEL_DECODER: msgspec.json.Decoder[Any] = msgspec.json.Decoder(
    msgspec.defstruct(
        "LabelEvent",
        [("prediction_id", _NonEmpty), ("label", _Binary), ("timestamp", _Time | None, None)],
    )
)


def _typed_parse(
    values: Sequence[bytes | None], decoder: msgspec.json.Decoder[Any], max_bytes: int
) -> tuple[list[Any], list[int], list[int]]:
    """Decode every value: the typed events, their record indexes, and the records left to the
    field-by-field path.

    A batch whose values are each one line starting with ``{`` is decoded in one call: no line is
    blank, so each yields at least one value, and as many values as lines means exactly one
    each (events and records correspond one to one). A batch with a bad value, or of another
    form, is decoded value by value.

    Whatever msgspec raises (besides its own errors, ``UnicodeDecodeError`` for bad bytes in a
    string it reads and ``RecursionError`` for deep nesting) only sends the value to the
    field-by-field path, which names the reason. msgspec does not check the UTF-8 of strings
    it skips (unknown fields, attributes not configured), so that is checked here: a message
    is UTF-8 as a whole or rejected, whichever path reads it. Nor does its nesting limit match
    orjson's (it follows Python's recursion limit), so a value that could nest deeper than
    :data:`MAX_NESTING` goes to the field-by-field path too.
    """
    count = len(values)
    if count and all(values):
        present = cast("Sequence[bytes]", values)  # none is None nor empty
        longest = max(map(len, present))
        joined = b"\n".join(present)
        if (
            longest <= max_bytes
            and {value[0] for value in present} == {0x7B}
            and joined.count(b"\n") == count - 1
            and _utf8(joined)
            and (longest <= MAX_NESTING or not any(map(_maybe_too_deep, present)))
        ):
            try:
                events = decoder.decode_lines(joined)
            except Exception:  # any failure at all: decode value by value
                pass
            else:
                if len(events) == count:
                    return events, list(range(count)), []
    events = []
    indexes: list[int] = []
    slow: list[int] = []
    decode = decoder.decode
    for index, raw in enumerate(values):
        if not raw or len(raw) > max_bytes or not _utf8(raw) or _maybe_too_deep(raw):
            slow.append(index)
            continue
        try:
            events.append(decode(raw))
        except Exception:  # the field-by-field path names the reason
            slow.append(index)
            continue
        indexes.append(index)
    return events, indexes, slow


def _maybe_too_deep(raw: bytes) -> bool:
    """Whether a value has enough brackets to nest deeper than :data:`MAX_NESTING`."""
    return len(raw) > MAX_NESTING and raw.count(b"[") + raw.count(b"{") > MAX_NESTING


def _utf8(raw: bytes) -> bool:
    """Whether bytes are UTF-8 (ASCII, the common case, is checked without decoding)."""
    if raw.isascii():
        return True
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _event_times(times: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Epoch seconds of decoded event times (numbers, RFC 3339 strings, ``None`` → NaN), and
    which of them are strings that did not parse (also NaN)."""
    unparsed = np.zeros(len(times), dtype=bool)
    if str in set(map(type, times)):
        raw = times
        times = [_time_or_nan(t) if type(t) is str else t for t in raw]
        unparsed = np.fromiter(
            (type(r) is str and t != t for r, t in zip(raw, times, strict=True)), bool, len(raw)
        )
    stamp = np.asarray(times, dtype=np.float64)
    # (RFC 3339 strings parse to seconds, always far below the milliseconds cut-off)
    stamp = np.where(stamp > _MILLISECONDS_ABOVE, stamp / 1000.0, stamp)
    beyond = stamp >= LATEST_EVENT_TIME
    if beyond.any():  # left to the field-by-field path, which says why
        stamp[beyond] = np.nan
        unparsed |= beyond
    return stamp, unparsed


def event_times(values: Sequence[Any]) -> np.ndarray:
    """Epoch seconds of raw ``timestamp`` values as the decoders read them (numbers, RFC 3339
    strings with an offset), NaN for a value they would reject or a missing one."""
    usable: list[Any] = []
    for value in values:
        kind = type(value)
        if kind is int and not -(2**63) <= value < 2**63:  # beyond any event time
            value = None
        elif kind is not str and kind is not float and kind is not int:
            value = None  # None, booleans, objects
        usable.append(value)
    stamps, _unparsed = _event_times(usable)
    stamps[~(stamps >= 0)] = np.nan  # negative numbers are not event times either
    return stamps


def decode_predictions(
    records: Sequence[Record] | RecordColumns, rules: DecodeRules
) -> tuple[Predictions, list[InvalidEvent]]:
    """Decode prediction records into accepted events and rejected ones (never raises).

    The common case is one typed decode of the whole batch (:func:`_typed_parse`), then each
    field is taken as a column; the checks left (known model, parseable and finite event time)
    are vectorised. Only records failing a check go through the field-by-field path, which
    names the exact reason (or accepts the rare form the fast path does not cover).
    """
    columns = RecordColumns.of(records)
    attributes = tuple(dict.fromkeys(rules.attributes))  # each once, in order
    events, indexes, slow = _typed_parse(
        columns.value, _prediction_decoder(attributes), rules.max_event_bytes
    )
    out = Predictions()
    if events:
        ids = list(map(_ID, events))
        models = list(map(_MODEL, events))
        stamp, _unparsed = _event_times(list(map(_TIME, events)))  # required: NaN is bad
        score = np.asarray(list(map(_SCORE, events)), dtype=np.float64)  # None -> NaN
        decisions = list(map(_PREDICTION, events))
        good = np.isfinite(stamp)
        if None in decisions:  # then the score decides, and must be there
            undecided = np.fromiter((d is None for d in decisions), bool, len(decisions))
            good &= ~(np.isnan(score) & undecided)
        thresholds = rules.thresholds
        if rules.known_models_only and not set(models).issubset(thresholds.keys()):
            good &= np.fromiter((model in thresholds for model in models), bool, len(models))
        if not good.all():
            slow.extend(indexes[position] for position in np.flatnonzero(~good).tolist())
            chosen = np.flatnonzero(good).tolist()
            events = [events[position] for position in chosen]
            ids = [ids[position] for position in chosen]
            models = [models[position] for position in chosen]
            decisions = [decisions[position] for position in chosen]
            indexes = [indexes[position] for position in chosen]
            stamp = stamp[good]
            score = score[good]
        out.prediction_id = ids
        out.model_id = models
        out.timestamp = stamp
        out.score = score
        if None in decisions:  # decided by the model's threshold
            default = rules.default_threshold
            threshold: Any = (
                thresholds.get(models[0], default)
                if len(set(models)) == 1
                else np.asarray([thresholds.get(model, default) for model in models])
            )
            decided = (score >= threshold).astype(np.int64)
            if decisions.count(None) < len(decisions):
                given = np.asarray([-1 if d is None else d for d in decisions], dtype=np.int64)
                decided = np.where(given < 0, decided, given)
            out.prediction = decided
        else:
            out.prediction = np.asarray(decisions, dtype=np.int64)
        labels = list(map(_LABEL, events))
        if None in labels:
            labels = [-1 if label is None else label for label in labels]
        out.label = np.asarray(labels, dtype=np.int64)
        out.sensitive = {
            name: list(map(operator.attrgetter(f"sensitive.a{position}"), events))
            for position, name in enumerate(attributes)
        }
        out.position = np.asarray(indexes, dtype=np.int64)
        out.partition = columns.partition[out.position]
    errors: list[InvalidEvent] = []
    accepted: list[tuple[int, _Row]] = []
    for index in sorted(slow):
        record = columns.record(index)
        try:
            accepted.append((index, _decode_prediction(record, rules)))
        except _Reject as reject:
            errors.append(InvalidEvent(record, reject.reason, reject.detail))
        except Exception as error:  # nothing escapes the decoder
            errors.append(_decoder_error(record, error))
    if accepted:
        out = _merge(out, indexes, accepted, columns, attributes)
    return out, errors


_ID = operator.attrgetter("prediction_id")
_MODEL = operator.attrgetter("model_id")
_TIME = operator.attrgetter("timestamp")
_SCORE = operator.attrgetter("score")
_PREDICTION = operator.attrgetter("prediction")
_LABEL = operator.attrgetter("label")


def _merge(
    fast: Predictions,
    fast_indexes: list[int],
    slow: list[tuple[int, _Row]],
    columns: RecordColumns,
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
    out.position = np.asarray([index for index, _row in rows], np.int64)
    out.partition = columns.partition[out.position]
    return out


def _decode_label(record: Record, rules: DecodeRules) -> tuple[str, int, float]:
    """One label record, field by field, raising :class:`_Reject` with the first problem."""
    event = _object(record, rules.max_event_bytes)
    prediction_id = _string(event, "prediction_id")
    raw_label = event.get("label")
    if raw_label is None:
        raise _Reject("missing_field", "label is required")
    label = _binary(raw_label, "label", "label_not_binary")
    raw_time = event.get("timestamp")
    timestamp = math.nan if raw_time is None else parse_timestamp(raw_time)
    return prediction_id, label, timestamp


def decode_labels(
    records: Sequence[Record] | RecordColumns, rules: DecodeRules
) -> tuple[Labels, list[InvalidEvent]]:
    """Decode label records into accepted labels and rejected ones (never raises); the same two
    paths as :func:`decode_predictions`."""
    columns = RecordColumns.of(records)
    events, indexes, slow = _typed_parse(columns.value, _LABEL_DECODER, rules.max_event_bytes)
    out = Labels()
    if events:
        stamp, unparsed = _event_times(list(map(_TIME, events)))  # optional: None is NaN
        if unparsed.any():
            slow.extend(indexes[position] for position in np.flatnonzero(unparsed).tolist())
            chosen = np.flatnonzero(~unparsed).tolist()
            events = [events[position] for position in chosen]
            indexes = [indexes[position] for position in chosen]
            stamp = stamp[~unparsed]
        out.prediction_id = list(map(_ID, events))
        out.label = list(map(int, map(_LABEL, events)))
        out.timestamp = stamp.tolist()
        out.partition = columns.partition[np.asarray(indexes, dtype=np.int64)].tolist()
    errors: list[InvalidEvent] = []
    accepted: list[tuple[int, tuple[str, int, float]]] = []
    for index in sorted(slow):
        record = columns.record(index)
        try:
            accepted.append((index, _decode_label(record, rules)))
        except _Reject as reject:
            errors.append(InvalidEvent(record, reject.reason, reject.detail))
        except Exception as error:  # nothing escapes the decoder
            errors.append(_decoder_error(record, error))
    if accepted:
        rows = [
            (index, (key, label, stamp_))
            for index, key, label, stamp_ in zip(
                indexes, out.prediction_id, out.label, out.timestamp, strict=True
            )
        ]
        rows.extend(accepted)
        rows.sort(key=lambda item: item[0])
        partition = columns.partition
        out = Labels(
            prediction_id=[row[0] for _i, row in rows],
            label=[row[1] for _i, row in rows],
            timestamp=[row[2] for _i, row in rows],
            partition=[int(partition[index]) for index, _row in rows],
        )
    return out, errors
