"""Decoding and validation: each bad-input case is rejected with its reason, never raised."""

from __future__ import annotations

import math

import orjson
import pytest

from monitor.events import DecodeRules, Record, decode_labels, decode_predictions

RULES = DecodeRules(
    thresholds={"credit": 0.6},
    known_models_only=True,
    attributes=("sex",),
    max_event_bytes=1024,
)
GOOD = {
    "prediction_id": "p1",
    "model_id": "credit",
    "timestamp": "2024-05-01T12:00:00Z",
    "prediction": 1,
    "sensitive": {"sex": "Female", "race": "Black"},
}


def record(value: bytes | None, topic: str = "predictions", offset: int = 7) -> Record:
    return Record(topic, 2, offset, b"key", value)


def predict(**changes: object) -> bytes:
    event = dict(GOOD)
    for key, value in changes.items():
        if value is ...:
            event.pop(key)
        else:
            event[key] = value
    return orjson.dumps(event, option=orjson.OPT_SERIALIZE_NUMPY)


BAD_PREDICTIONS = [
    ("empty", None),
    ("empty", b""),
    ("oversized", predict(padding="x" * 2000)),
    ("invalid_json", b'{"prediction_id": "p1",'),
    ("invalid_json", b"\xff\xfe not utf-8"),
    ("not_object", b"[1, 2, 3]"),
    ("not_object", b'"just a string"'),
    ("missing_field", predict(prediction_id=...)),
    ("missing_field", predict(model_id=...)),
    ("missing_field", predict(timestamp=...)),
    ("missing_field", predict(prediction=...)),
    ("missing_field", predict(sensitive=...)),
    ("missing_field", predict(sensitive={})),
    ("wrong_type", predict(prediction_id=12)),
    ("wrong_type", predict(model_id=["credit"])),
    ("wrong_type", predict(prediction="yes")),
    ("wrong_type", predict(score="0.4")),
    ("wrong_type", predict(sensitive="Female")),
    ("wrong_type", predict(sensitive={"sex": 1})),
    ("wrong_type", predict(sensitive=["sex"])),
    ("wrong_type", predict(timestamp={"t": 1})),
    ("empty_field", predict(prediction_id="")),
    (
        "non_finite_score",
        b'{"prediction_id":"p","model_id":"credit","timestamp":1,"score":NaN,'
        b'"sensitive":{"sex":"F"}}',
    ),
    (
        "non_finite_score",
        b'{"prediction_id":"p","model_id":"credit","timestamp":1,'
        b'"score":Infinity,"sensitive":{"sex":"F"}}',
    ),
    ("score_out_of_range", predict(score=1.5)),
    ("score_out_of_range", predict(score=-0.1)),
    ("prediction_not_binary", predict(prediction=2)),
    ("label_not_binary", predict(label=3)),
    ("label_not_binary", predict(label=-1)),
    ("bad_timestamp", predict(timestamp="yesterday")),
    ("bad_timestamp", predict(timestamp="2024-05-01T12:00:00")),  # no offset
    ("bad_timestamp", predict(timestamp=-5)),
    ("bad_timestamp", predict(timestamp=True)),
    ("unknown_model", predict(model_id="other")),
    ("missing_attribute", predict(sensitive={"race": "Black"})),
]


@pytest.mark.parametrize(("reason", "raw"), BAD_PREDICTIONS)
def test_bad_prediction_is_rejected_with_its_reason_and_original_bytes(
    reason: str, raw: bytes | None
) -> None:
    good = record(predict(prediction_id="ok"), offset=1)
    bad = record(raw)
    events, errors = decode_predictions([good, bad, good], RULES)
    assert [error.reason for error in errors] == [reason]
    assert errors[0].record is bad and errors[0].record.value == raw
    assert errors[0].detail
    assert len(events) == 2  # the good records around it are kept


BAD_LABELS = [
    ("invalid_json", b"{"),
    ("not_object", b"1"),
    ("missing_field", b'{"label": 1}'),
    ("missing_field", b'{"prediction_id": "p"}'),
    ("wrong_type", b'{"prediction_id": 5, "label": 1}'),
    ("wrong_type", b'{"prediction_id": "p", "label": "1"}'),
    ("label_not_binary", b'{"prediction_id": "p", "label": 0.5}'),
    ("bad_timestamp", b'{"prediction_id": "p", "label": 1, "timestamp": "soon"}'),
    ("oversized", b'{"prediction_id": "' + b"p" * 2000 + b'", "label": 1}'),
]


@pytest.mark.parametrize(("reason", "raw"), BAD_LABELS)
def test_bad_label_is_rejected_with_its_reason(reason: str, raw: bytes) -> None:
    labels, errors = decode_labels([record(raw, "labels")], RULES)
    assert len(labels) == 0
    assert [error.reason for error in errors] == [reason]


def test_good_prediction_fields() -> None:
    raw = [
        predict(),
        predict(prediction_id="p2", prediction=..., score=0.61, timestamp=1714564800000),
        predict(prediction_id="p3", prediction=..., score=0.59, timestamp=1714564800.5),
        predict(prediction_id="p4", prediction=False, label=True, score=0.9, extra={"x": 1}),
        predict(prediction_id="p5", timestamp="2024-05-01T14:00:00+02:00"),
    ]
    events, errors = decode_predictions([record(value) for value in raw], RULES)
    assert errors == []
    assert events.prediction_id == ["p1", "p2", "p3", "p4", "p5"]
    assert events.timestamp.tolist() == [
        1714564800.0,
        1714564800.0,
        1714564800.5,
        1714564800.0,
        1714564800.0,
    ]
    assert events.prediction.tolist() == [1, 1, 0, 0, 1]  # p2/p3: score against the model's 0.6
    assert events.label.tolist() == [-1, -1, -1, 1, -1]
    assert math.isnan(events.score[0]) and events.score[3] == 0.9
    assert events.sensitive == {"sex": ["Female"] * 5}  # only configured attributes are kept
    assert events.partition.tolist() == [2] * 5


def test_fast_and_field_by_field_paths_agree_and_keep_record_order() -> None:
    """A batch mixing forms the vectorised path leaves to the slow one (label 1.0, bad rows)."""
    raw = [
        predict(prediction_id="a", label=1.0),  # accepted by the field-by-field path
        predict(prediction_id="b"),
        b"{oops",
        predict(prediction_id="c", score=0.7, prediction=...),
        predict(prediction_id="d", prediction=0.0, label=0),  # slow path again
    ]
    events, errors = decode_predictions([record(value) for value in raw], RULES)
    assert [error.reason for error in errors] == ["invalid_json"]
    assert events.prediction_id == ["a", "b", "c", "d"]
    assert events.prediction.tolist() == [1, 1, 1, 0]
    assert events.label.tolist() == [1, -1, -1, 0]
    assert events.sensitive == {"sex": ["Female"] * 4}


def test_any_model_accepted_when_none_is_configured() -> None:
    rules = DecodeRules(attributes=("sex",))
    events, errors = decode_predictions(
        [record(predict(model_id="anything", score=0.5, prediction=...))], rules
    )
    assert errors == [] and events.prediction.tolist() == [1]  # default threshold 0.5


def test_good_label_with_and_without_time() -> None:
    labels, errors = decode_labels(
        [
            record(b'{"prediction_id": "a", "label": 1}', "labels"),
            record(b'{"prediction_id": "b", "label": false, "timestamp": 1714564800}', "labels"),
        ],
        RULES,
    )
    assert errors == []
    assert labels.prediction_id == ["a", "b"] and labels.label == [1, 0]
    assert math.isnan(labels.timestamp[0]) and labels.timestamp[1] == 1714564800.0
