"""The event contract's conformance cases: messages, and what the decoder makes of each.

One list for every implementation of the contract (docs/events.md). The decoder's unit tests
(``test_decoders.py``) decode each case on its own and check its reason, or its event time when
it is accepted; the Flink job's contract test (``tests/fairwatch/flink/integration/
test_flink_contract.py``) produces them all, in this order, to Kafka, runs them through the
rendered job and compares each message, and the counts, with the in-process pipeline. A case
added here is checked on both; where the Flink job is documented to differ, the difference is
listed once, in ``tests/fairwatch/flink/integration/differences.py``.

The order matters for the cases that are sequences: a duplicate ``prediction_id`` comes after
its first occurrence, an early label before its prediction. Accepted predictions carry their own
``prediction_id`` (the case's name) unless the case is about ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from monitor.config import MonitorConfig
from monitor.stream.decode import MAX_NESTING, DecodeRules, decode_rules

BASE = 1714564800  # 2024-05-01T12:00:00Z
MAX_EVENT_BYTES = 4096


def contract_config(kafka: dict[str, Any] | None = None) -> MonitorConfig:
    """The configuration the cases are judged under (the Flink test renders its job from it,
    with its own topics): two models, one sensitive attribute, windows of two pane sizes."""
    return MonitorConfig.model_validate(
        {
            "kafka": kafka or {"bootstrap_servers": ["localhost:9092"]},
            "models": {"credit": {"threshold": 0.6}, "fraud": {}},
            "sensitive": {"attributes": ["sex"]},
            "windows": ["1h", "1d/1h", "15m"],
            "label_horizon": "7d",
            # small enough that the oversized cases stay small, large enough for deep nesting
            "pipeline": {"max_event_bytes": MAX_EVENT_BYTES},
            "embedded_sink": {"path": "unused.db"},
        }
    )


RULES: DecodeRules = decode_rules(contract_config())
GOOD: dict[str, Any] = {
    "prediction_id": "p1",
    "model_id": "credit",
    "timestamp": "2024-05-01T12:00:00Z",
    "prediction": 1,
    "sensitive": {"sex": "Female", "race": "Black"},
}


def predict(**changes: object) -> bytes:
    """:data:`GOOD` with fields changed (``...`` removes one; raw JSON is an
    ``orjson.Fragment``)."""
    event = dict(GOOD)
    for key, value in changes.items():
        if value is ...:
            event.pop(key)
        else:
            event[key] = value
    return orjson.dumps(event, option=orjson.OPT_SERIALIZE_NUMPY)


@dataclass(frozen=True)
class Case:
    """A message on ``topic`` (``predictions`` or ``labels``) and the decoder's verdict:
    ``reason``, or ``None`` when it accepts it, then reading ``time`` as its event time (epoch
    seconds; ``None``: not checked, or a label without one)."""

    name: str
    topic: str
    value: bytes | None
    reason: str | None
    time: float | None = field(default=None, compare=False)

    @property
    def key(self) -> str:
        """The Kafka key: the ``prediction_id`` when it is a string (so that the records of one
        id are in one partition, in order), else the case's name."""
        try:
            found = orjson.loads(self.value or b"").get("prediction_id")
        except (orjson.JSONDecodeError, AttributeError):
            found = None
        return found if isinstance(found, str) and found else self.name


def p(name: str, reason: str | None, time: float | None = None, **changes: object) -> Case:
    """A prediction case: :data:`GOOD` changed, with the case's name as its id by default."""
    changes.setdefault("prediction_id", name)
    return Case(name, "predictions", predict(**changes), reason, time)


def raw(name: str, reason: str | None, value: bytes | None, topic: str = "predictions") -> Case:
    return Case(name, topic, value, reason)


def label(name: str, reason: str | None, value: bytes | dict[str, Any]) -> Case:
    return Case(name, "labels", value if isinstance(value, bytes) else orjson.dumps(value), reason)


def sized(name: str, size: int, character: str) -> Case:
    """An accepted prediction of exactly ``size`` bytes, padded with ``character``."""
    event = predict(prediction_id=name, padding="")
    width = len(character.encode())
    pad = character * ((size - len(event)) // width) + "x" * ((size - len(event)) % width)
    value = predict(prediction_id=name, padding=pad)
    assert len(value) == size, (name, len(value))
    reason = "oversized" if size > MAX_EVENT_BYTES else None
    return Case(name, "predictions", value, reason, None if reason else BASE)


F = orjson.Fragment


def nested(name: str, depth: int) -> Case:
    """A prediction nested ``depth`` levels deep (the event object is the first level)."""
    extra = F(b"[" * (depth - 1) + b"]" * (depth - 1))
    return p(name, None if depth <= MAX_NESTING else "invalid_json", None, extra=extra)


# The decoder's bad-input cases (each the first problem the decoder names).
REJECTED_PREDICTIONS = [
    raw("no-value", "empty", None),
    raw("empty-value", "empty", b""),
    p("padding-5000", "oversized", padding="x" * 5000),
    raw("truncated", "invalid_json", b'{"prediction_id": "p1",'),
    raw("utf16-bom-bytes", "invalid_json", b"\xff\xfe not utf-8"),
    raw("array", "not_object", b"[1, 2, 3]"),
    raw("string", "not_object", b'"just a string"'),
    p("missing-prediction_id", "missing_field", prediction_id=...),
    p("missing-model_id", "missing_field", model_id=...),
    p("missing-timestamp", "missing_field", timestamp=...),
    p("missing-prediction-and-score", "missing_field", prediction=...),
    p("missing-sensitive", "missing_field", sensitive=...),
    p("empty-sensitive", "missing_field", sensitive={}),
    p("null-prediction_id", "missing_field", prediction_id=None),
    p("null-timestamp", "missing_field", timestamp=None),
    p("null-sensitive", "missing_field", sensitive=None),
    p("null-score-no-prediction", "missing_field", prediction=..., score=None),
    p("number-prediction_id", "wrong_type", prediction_id=12),
    p("array-model_id", "wrong_type", model_id=["credit"]),
    p("string-prediction", "wrong_type", prediction="yes"),
    p("numeric-string-prediction", "wrong_type", prediction="1"),
    p("numeric-string-score", "wrong_type", score="0.4"),
    p("string-sensitive", "wrong_type", sensitive="Female"),
    p("number-group", "wrong_type", sensitive={"sex": 1}),
    p("array-sensitive", "wrong_type", sensitive=["sex"]),
    p("object-timestamp", "wrong_type", timestamp={"t": 1}),
    p("array-timestamp", "wrong_type", timestamp=[BASE]),
    p("boolean-score", "wrong_type", score=False),
    p("array-score", "wrong_type", score=[0.5]),
    p("object-score", "wrong_type", score={"value": 0.5}),
    p("array-group", "wrong_type", sensitive=F(b'{"sex":["M"]}')),
    p("object-group", "wrong_type", sensitive={"sex": {"value": "M"}}),
    p("boolean-group", "wrong_type", sensitive={"sex": True}),
    p("empty-prediction_id", "empty_field", prediction_id=""),
    p("empty-model_id", "empty_field", model_id=""),
    p("huge-integer-id", "wrong_type", prediction_id=F(b"1" + b"0" * 400)),
    raw(
        "nan-score",
        "non_finite_score",
        b'{"prediction_id":"p","model_id":"credit","timestamp":1,"score":NaN,'
        b'"sensitive":{"sex":"F"}}',
    ),
    raw(
        "infinity-score",
        "non_finite_score",
        b'{"prediction_id":"p","model_id":"credit","timestamp":1,'
        b'"score":Infinity,"sensitive":{"sex":"F"}}',
    ),
    p("1e400-score", "non_finite_score", score=F(b"1e400")),
    p("800-digit-score", "non_finite_score", score=F(b"1" + b"0" * 800)),
    p("score-1.5", "score_out_of_range", score=1.5),
    p("score-below-0", "score_out_of_range", score=-0.1),
    p("score-just-above-1", "score_out_of_range", score=1.0000000000000002),
    p("score-tiny-negative", "score_out_of_range", score=-1e-300),
    p("score-1e30", "score_out_of_range", score=F(b"1000000000000000000000000000000")),
    p("prediction-2", "prediction_not_binary", prediction=2),
    p("prediction-0.5", "prediction_not_binary", prediction=0.5),
    p("prediction-300-digits", "prediction_not_binary", prediction=F(b"-" + b"9" * 300)),
    p("label-3", "label_not_binary", label=3),
    p("label-minus-1", "label_not_binary", label=-1),
    p("label-400-digits", "label_not_binary", label=F(b"1" + b"0" * 400)),
    p("label-nan", "label_not_binary", label=F(b"NaN")),
    p("numeric-string-label", "wrong_type", label="1"),
    p("timestamp-word", "bad_timestamp", timestamp="yesterday"),
    p("timestamp-no-offset", "bad_timestamp", timestamp="2024-05-01T12:00:00"),
    p("timestamp-negative", "bad_timestamp", timestamp=-5),
    p("timestamp-boolean", "bad_timestamp", timestamp=True),
    p("timestamp-numeric-string", "bad_timestamp", timestamp=str(BASE)),
    p("timestamp-empty-string", "bad_timestamp", timestamp=""),
    p("timestamp-february-30", "bad_timestamp", timestamp="2024-02-30T00:00:00Z"),
    p("timestamp-hour-24", "bad_timestamp", timestamp="2024-05-01T24:00:00Z"),
    p("timestamp-leap-second", "bad_timestamp", timestamp="2024-05-01T23:59:60Z"),
    p("timestamp-offset-24h", "bad_timestamp", timestamp="2024-05-01T12:00:00+24:00"),
    p("timestamp-lowercase-z", "bad_timestamp", timestamp="2024-05-01T12:00:00z"),
    p("timestamp-date-only", "bad_timestamp", timestamp="2024-05-01"),
    p("timestamp-rtl-mark", "bad_timestamp", timestamp="2024-05-01T12:00:00\u202eZ"),
    p("timestamp-400-digits", "bad_timestamp", timestamp=F(b"1" + b"0" * 400)),
    p("timestamp-1e400-score-nan", "bad_timestamp", timestamp=F(b"1e400"), score=F(b"NaN")),
    p("timestamp-minus-infinity", "bad_timestamp", timestamp=F(b"-Infinity")),
    p("timestamp-ms-year-10000", "bad_timestamp", timestamp=253402300800000),
    p("timestamp-1.7e308", "bad_timestamp", timestamp=1.7e308),
    p("unknown-model", "unknown_model", model_id="other"),
    p("model-other-case", "unknown_model", model_id="Credit"),
    p("missing-attribute", "missing_attribute", sensitive={"race": "Black"}),
    p("null-attribute", "wrong_type", sensitive={"sex": None}),
    # bad bytes anywhere in a message, even where no field is read, make it invalid JSON
    p("bad-byte-in-group", "invalid_json", sensitive=F(b'{"sex":"M\xa6"}')),
    p("bad-byte-in-other-group", "invalid_json", sensitive=F(b'{"sex":"M","race":"\xa6"}')),
    p("bad-byte-in-unknown-field", "invalid_json", note=F(b'"\xa6"')),
    p("bad-byte-in-key", "invalid_json", note=F(b'{"\xff":1}')),
    p("encoded-surrogate", "invalid_json", note=F(b'"\xed\xa0\x80"')),
    p("lone-surrogate-escape", "invalid_json", prediction_id=F(b'"\\ud800"')),
    p("lone-low-surrogate-and-nan", "invalid_json", note=F(b'["\\udc00", NaN]')),
    raw("utf-16", "invalid_json", predict(prediction_id="utf-16").decode().encode("utf-16")),
    raw("byte-order-mark", "invalid_json", b"\xef\xbb\xbf" + predict(prediction_id="bom")),
    raw("blank", "invalid_json", b" \t\r\n "),
    p("raw-control-character", "invalid_json", note=F(b'"a\x00b"')),
    raw("object-of-digits", "invalid_json", b"{" + b"1" * 900 + b"}"),
    raw("900-digit-number", "not_object", b"1" + b"0" * 900),
    nested("nested-1100-levels", 1100),
    raw("two-objects", "invalid_json", predict(prediction_id="two") + b" " + predict()),
    raw("trailing-text", "invalid_json", predict(prediction_id="trailing-text") + b" x"),
    raw("nan-score-python-json", "non_finite_score", predict(score=F(b"NaN"), prediction=...)),
]

T = "2024-05-01T"
# What the decoder accepts, in every form: timestamps, scores, booleans, odd strings, sizes.
ACCEPTED_PREDICTIONS = [
    p("epoch-seconds", None, BASE, timestamp=BASE, score=0.61, prediction=...),
    p("epoch-float", None, BASE + 0.25, timestamp=BASE + 0.25, score=0.59, prediction=...),
    p("epoch-ms", None, BASE + 0.25, timestamp=BASE * 1000 + 250),
    p("epoch-ms-float", None, BASE - 0.0001, timestamp=1714564799999.9),
    p("epoch-ms-exponent", None, BASE, timestamp=F(b"1.7145648E12")),
    p("epoch-seconds-before-pane", None, BASE - 0.5, timestamp=BASE - 0.5),
    p("rfc3339-z", None, BASE, timestamp=f"{T}12:00:00Z"),
    p("rfc3339-offset", None, BASE, timestamp=f"{T}14:00:00+02:00"),
    p("rfc3339-negative-offset", None, BASE, timestamp=f"{T}06:30:00-05:30"),
    p("rfc3339-offset-no-colon", None, BASE, timestamp=f"{T}14:00:00+0200"),
    p("rfc3339-offset-hours", None, BASE, timestamp=f"{T}14:00:00+02"),
    p("rfc3339-minus-zero", None, BASE, timestamp=f"{T}12:00:00-00:00"),
    p("rfc3339-offset-23:59", None, BASE - 86340, timestamp=f"{T}12:00:00+23:59"),
    p("rfc3339-space", None, BASE, timestamp="2024-05-01 12:00:00Z"),
    p("rfc3339-lowercase-t", None, BASE, timestamp="2024-05-01t12:00:00Z"),
    p("rfc3339-no-seconds", None, BASE, timestamp=f"{T}12:00Z"),
    p("rfc3339-hour-only", None, BASE, timestamp=f"{T}12Z"),
    p("rfc3339-fraction", None, BASE + 0.5, timestamp=f"{T}12:00:00.5Z"),
    p("rfc3339-comma", None, BASE + 0.5, timestamp=f"{T}12:00:00,5Z"),
    p("rfc3339-empty-fraction", None, BASE, timestamp=f"{T}12:00:00.Z"),
    p("rfc3339-7-digits", None, BASE - 0.000001, timestamp=f"{T}11:59:59.9999999Z"),
    p("rfc3339-fraction-offset", None, BASE - 0.875, timestamp=f"{T}13:59:59.125+02:00"),
    p("score-0", None, label=0, score=0, prediction=...),
    p("score-1", None, label=1, score=1, prediction=...),
    p("score-0.0", None, label=1, score=0.0),
    p("score-1.0", None, label=0, score=1.0),
    p("score-negative-zero", None, label=0, score=-0.0, prediction=...),
    p("score-smallest-subnormal", None, label=1, score=5e-324, prediction=...),
    p("score-just-below-1", None, label=1, score=0.9999999999999999, prediction=...),
    p("score-threshold", None, label=0, score=0.6, prediction=...),
    p("score-below-threshold", None, label=1, score=0.5999999999999999, prediction=...),
    p("score-exponent", None, label=1, score=F(b"1E0"), prediction=...),
    p("score-bin-edge", None, label=0, score=0.05, prediction=...),
    p("score-inexact-bin-edge", None, label=1, score=0.58, prediction=...),  # 0.58·50 < 29
    p("score-0.1+0.2", None, label=1, score=0.1 + 0.2, prediction=...),
    p("score-null-with-prediction", None, score=None),
    p("prediction-true", None, prediction=True),
    p("prediction-false", None, prediction=False, label=True),
    p("prediction-1.0", None, prediction=1.0, label=0.0),
    p("label-false", None, label=False, score=0.3),
    p("label-null", None, label=None),
    p("fraud-model", None, model_id="fraud", score=0.5, prediction=..., label=1),
    p("escaped-model_id", None, model_id=F(b'"\\u0063redit"')),
    p("group-accented", None, sensitive={"sex": "Fémale"}),
    p("group-emoji-escape", None, sensitive=F(b'{"sex":"\\ud83d\\ude00"}')),
    p("group-quotes", None, sensitive={"sex": 'a "b" \\c'}),
    p("group-empty", None, sensitive={"sex": ""}),
    p("group-blank", None, sensitive={"sex": " "}),
    p("group-nul-escape", None, sensitive=F(b'{"sex":"a\\u0000b"}')),
    p("group-key-twice", None, sensitive=F(b'{"sex":"First","sex":"Last"}')),
    p("other-attribute-object", None, sensitive={"sex": "M", "race": {"x": [1, None]}}),
    p("nested-note", None, note={"deep": [1, {"x": None}, [True, 2.5]]}),
    nested("nested-999-levels", 999),
    nested("nested-1001-levels", 1001),
    nested("nested-1024-levels", 1024),
    p("escaped-id", None, prediction_id='id "quoted" \\ \u00e9'),
    raw("whitespace-around", None, b"\n  " + predict(prediction_id="whitespace-around") + b"\n"),
    raw(
        "pretty-printed",
        None,
        orjson.dumps({**GOOD, "prediction_id": "pretty-printed"}, option=orjson.OPT_INDENT_2),
    ),
    sized("max-bytes-ascii", MAX_EVENT_BYTES, "x"),
    sized("max-bytes-two-byte", MAX_EVENT_BYTES, "é"),
    sized("max-bytes-four-byte", MAX_EVENT_BYTES, "\U0001f600"),
    sized("over-max-bytes-ascii", MAX_EVENT_BYTES + 1, "x"),
    sized("over-max-bytes-two-byte", MAX_EVENT_BYTES + 1, "é"),
    # accepted by the decoder; the pipeline refuses them by event time
    p("far-future", None, 4102444800, timestamp="2100-01-01T00:00:00Z"),
    p("epoch-1e11-seconds", None, 1e11, timestamp=F(b"100000000000")),
    p("last-second-of-9999", None, 253402300799, timestamp=253402300799000),
    p("month-old", None, BASE - 30 * 86400, timestamp="2024-04-01T12:00:00Z"),
    p("epoch-1e11-plus-1-ms", None, 100000000001 / 1000.0, timestamp=F(b"100000000001")),
    # RFC 3339 forms beyond the common ones (Python's datetime.fromisoformat reads them)
    p("basic-format", None, BASE, timestamp="20240501T120000Z"),
    p("basic-time", None, BASE, timestamp=f"{T}1200Z"),
    p("offset-with-seconds", None, BASE - 7230, timestamp=f"{T}12:00:00+02:00:30"),
    p("week-date", None, BASE, timestamp="2024-W18-3T12:00:00Z"),
    p("julian-calendar-date", None, -14831769600, timestamp="1500-01-01T00:00:00Z"),
    p("skipped-gregorian-date", None, -12219724800, timestamp="1582-10-10T00:00:00Z"),
]

# Sequences: duplicates (the first accepted one wins), early, duplicate and orphan labels.
SEQUENCES = [
    p("dup-first", None, prediction_id="dup-1", sensitive={"sex": "Dup"}, label=1),
    p("dup-second", None, prediction_id="dup-1", sensitive={"sex": "NotCounted"}, prediction=0),
    p("dup-after-rejected-bad", "score_out_of_range", prediction_id="dup-2", score=1.5),
    p("dup-after-rejected-good", None, prediction_id="dup-2", sensitive={"sex": "Second"}),
    p("dup-future-first", None, prediction_id="dup-3", timestamp="2100-01-01T00:00:00Z"),
    p("dup-future-then-good", None, prediction_id="dup-3", sensitive={"sex": "AfterFuture"}),
    p("dup-good-first", None, prediction_id="dup-4", sensitive={"sex": "BeforeFuture"}),
    p("dup-future-second", None, prediction_id="dup-4", timestamp="2100-01-01T00:00:00Z"),
    label("early-label", None, {"prediction_id": "early-1", "label": 1}),
    p("early-label-prediction", None, prediction_id="early-1", score=0.7, prediction=...),
    p("inline-label-prediction", None, prediction_id="inline-1", label=0),
    label("label-of-inline", None, {"prediction_id": "inline-1", "label": 1}),
    p("twice-labelled", None, prediction_id="twice-1", score=0.2, prediction=...),
    label("first-label", None, {"prediction_id": "twice-1", "label": 1}),
    label("second-label", None, {"prediction_id": "twice-1", "label": 0}),
    label("orphan-label", None, {"prediction_id": "never-predicted", "label": 1}),
    p("rejected-then-labelled", "unknown_model", prediction_id="rejected-1", model_id="x"),
    label("label-of-rejected", None, {"prediction_id": "rejected-1", "label": 1}),
    p("labelled-in-ms", None, prediction_id="ms-1", score=0.45, prediction=...),
    label("label-time-ms", None, {"prediction_id": "ms-1", "label": 0, "timestamp": BASE * 1000}),
    p("labelled-boolean", None, prediction_id="bool-1", score=0.95, prediction=...),
    label("label-true", None, {"prediction_id": "bool-1", "label": True, "timestamp": T + "12Z"}),
    p("labelled-float", None, prediction_id="float-1", prediction=0),
    label("label-1.0", None, {"prediction_id": "float-1", "label": 1.0}),
]

REJECTED_LABELS = [
    label("label-truncated", "invalid_json", b"{"),
    label("label-number", "not_object", b"1"),
    label("label-no-value", "empty", b""),
    label("label-missing-id", "missing_field", b'{"label": 1}'),
    label("label-missing-label", "missing_field", b'{"prediction_id": "p"}'),
    label("label-null-label", "missing_field", b'{"prediction_id": "p", "label": null}'),
    label("label-number-id", "wrong_type", b'{"prediction_id": 5, "label": 1}'),
    label("label-empty-id", "empty_field", b'{"prediction_id": "", "label": 1}'),
    label("label-string-1", "wrong_type", b'{"prediction_id": "p", "label": "1"}'),
    label("label-0.5", "label_not_binary", b'{"prediction_id": "p", "label": 0.5}'),
    label(
        "label-word-time",
        "bad_timestamp",
        b'{"prediction_id": "p", "label": 1, "timestamp": "soon"}',
    ),
    label(
        "label-boolean-time",
        "bad_timestamp",
        b'{"prediction_id": "p", "label": 1, "timestamp": true}',
    ),
    label(
        "label-object-time", "wrong_type", b'{"prediction_id": "p", "label": 1, "timestamp": {}}'
    ),
    label("label-oversized", "oversized", b'{"prediction_id": "' + b"p" * 5000 + b'", "label": 1}'),
    label("label-bad-byte-in-id", "invalid_json", b'{"prediction_id": "p\xa6", "label": 1}'),
    label(
        "label-bad-byte-in-note",
        "invalid_json",
        b'{"prediction_id": "p", "label": 1, "note": "\xa6"}',
    ),
    label("label-lone-surrogate", "invalid_json", b'{"prediction_id": "\\ud800", "label": 1}'),
    label(
        "label-record-400-digits",
        "label_not_binary",
        b'{"prediction_id": "p", "label": 1' + b"0" * 400 + b"}",
    ),
    label("label-record-nan", "label_not_binary", b'{"prediction_id": "p", "label": NaN}'),
    label(
        "label-1e400-time",
        "bad_timestamp",
        b'{"prediction_id": "p", "label": 1, "timestamp": 1e400}',
    ),
    label("label-array-id", "wrong_type", b'{"prediction_id": ["p"], "label": 1}'),
    label("label-object-label", "wrong_type", b'{"prediction_id": "p", "label": {"value": 1}}'),
    label(
        "label-year-10000",
        "bad_timestamp",
        b'{"prediction_id": "p", "label": 1, "timestamp": 253402300800000}',
    ),
]

CASES: list[Case] = [*REJECTED_PREDICTIONS, *ACCEPTED_PREDICTIONS, *SEQUENCES, *REJECTED_LABELS]
PREDICTION_CASES = [case for case in CASES if case.topic == "predictions"]
LABEL_CASES = [case for case in CASES if case.topic == "labels"]
BY_NAME = {case.name: case for case in CASES}
assert len(BY_NAME) == len(CASES), "case names must be unique"
