"""Decoding and validation: each bad-input case is rejected with its reason, never raised."""

from __future__ import annotations

import math

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# -- the batch path and the field-by-field path agree, record by record --------------------

_FIELD_CHOICES: dict[str, list[object]] = {
    "prediction_id": ["p", "", 7, None, ...],
    "model_id": ["credit", "other", "", ["credit"], ...],
    "timestamp": [
        1714564800,
        1714564800123,
        1714564800.25,
        "2024-05-01T12:00:00Z",
        "2024-05-01T14:00:00+02:00",
        "2024-05-01T12:00:00",
        "soon",
        -1,
        True,
        None,
        ...,
    ],
    "prediction": [0, 1, True, False, 1.0, 0.0, 2, "1", None, ...],
    "score": [0.0, 0.61, 1, 0.59, 1.5, -0.1, "0.5", True, None, ...],
    "label": [0, 1, True, 1.0, 3, -1, "1", None, ...],
    "sensitive": [
        {"sex": "Female"},
        {"sex": "Male", "race": 3},
        {"sex": ""},
        {"sex": None},
        {"race": "Black"},
        {},
        "Female",
        None,
        ...,
    ],
}


def _expected(raw: bytes | None) -> tuple[str, object]:
    """One record through the field-by-field path alone: its reason, or its accepted row."""
    from monitor.events import _decode_prediction, _Reject

    try:
        row = _decode_prediction(record(raw), RULES)
    except _Reject as reject:
        return ("rejected", reject.reason)
    prediction_id, model_id, timestamp, decision, score, label, sensitive = row
    return (
        "accepted",
        (
            prediction_id,
            model_id,
            timestamp,
            decision,
            None if math.isnan(score) else score,
            label,
            sensitive["sex"],
        ),
    )


_BASE = {"prediction_id": "p", "model_id": "credit", "timestamp": 1714564800, "score": 0.61}
_BASE_SENSITIVE = {"sex": "Female"}

# a valid event with up to two fields changed to any of their choices (often still valid)
_MUTATED = st.dictionaries(
    st.sampled_from(sorted(_FIELD_CHOICES)),
    st.integers(min_value=0, max_value=20),
    max_size=2,
).map(
    lambda changes: orjson.dumps(
        {
            key: value
            for key, value in {
                **_BASE,
                "sensitive": _BASE_SENSITIVE,
                **{
                    name: _FIELD_CHOICES[name][pick % len(_FIELD_CHOICES[name])]
                    for name, pick in changes.items()
                },
            }.items()
            if value is not ...
        }
    )
)

_ODD_VALUES = [
    None,
    b"",
    b"   ",
    b"{oops",
    b"[1]",
    predict(prediction_id="two") + b" " + predict(prediction_id="objects"),
    predict(prediction_id="pretty\\nprinted")[:-1] + b"\n}",
    b'{"prediction_id":"n","model_id":"credit","timestamp":1,"score":NaN,"sensitive":{"sex":"F"}}',
]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            _MUTATED,
            _MUTATED,
            _MUTATED,
            st.fixed_dictionaries(
                {name: st.sampled_from(choices) for name, choices in _FIELD_CHOICES.items()}
            ).map(lambda event: orjson.dumps({k: v for k, v in event.items() if v is not ...})),
            st.sampled_from(_ODD_VALUES),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_batch_decoding_equals_field_by_field_decoding(values: list[bytes | None]) -> None:
    records = [
        Record("predictions", index % 3, index, b"k", value) for index, value in enumerate(values)
    ]
    events, errors = decode_predictions(records, RULES)
    expected = [(index, _expected(value)) for index, value in enumerate(values)]
    assert [(error.record.offset, error.reason) for error in errors] == [
        (index, outcome[1]) for index, outcome in expected if outcome[0] == "rejected"
    ]
    accepted = [(index, outcome[1]) for index, outcome in expected if outcome[0] == "accepted"]
    got = [
        (
            events.prediction_id[position],
            events.model_id[position],
            float(events.timestamp[position]),
            int(events.prediction[position]),
            None if math.isnan(events.score[position]) else float(events.score[position]),
            int(events.label[position]),
            events.sensitive["sex"][position],
        )
        for position in range(len(events))
    ]
    assert got == [row for _index, row in accepted]
    assert events.partition.tolist() == [index % 3 for index, _row in accepted]


def test_a_value_holding_two_objects_is_never_split_into_two_events() -> None:
    """Two objects in one message, and a blank message beside it, keep their record identity."""
    values = [
        predict(prediction_id="a"),
        predict(prediction_id="b") + b" " + predict(prediction_id="c"),
        b"  ",
        predict(prediction_id="d"),
    ]
    events, errors = decode_predictions(
        [record(value, offset=i) for i, value in enumerate(values)], RULES
    )
    assert events.prediction_id == ["a", "d"]
    assert [(error.record.offset, error.reason) for error in errors] == [
        (1, "invalid_json"),
        (2, "invalid_json"),
    ]


def test_runs_from_the_consumer_process_decode_with_positions_and_original_records() -> None:
    from monitor.pipeline import decode_runs

    runs = [
        ("predictions", 0, [10, 11], [b"k10", b"k11"], [predict(prediction_id="x"), b"{bad"]),
        ("labels", 1, [5], [b"k5"], [b'{"prediction_id": "x", "label": 1.0}']),
        ("predictions", 2, [3], [None], [predict(prediction_id="y", score=0.7, prediction=...)]),
    ]
    batch = decode_runs(runs, RULES, "predictions", "labels")
    assert batch.positions == {("predictions", 0): 12, ("labels", 1): 6, ("predictions", 2): 4}
    assert batch.consumed == {"predictions": 3, "labels": 1}
    assert batch.predictions.prediction_id == ["x", "y"]
    assert batch.predictions.partition.tolist() == [0, 2]
    assert batch.predictions.prediction.tolist() == [1, 1]
    assert batch.labels.prediction_id == ["x"] and batch.labels.label == [1]
    assert batch.labels.partition == [1]
    [error] = batch.rejected
    assert error.reason == "invalid_json"
    assert error.record == Record("predictions", 0, 11, b"k11", b"{bad")


def test_labels_batch_keeps_record_order_across_both_paths() -> None:
    raw = [
        b'{"prediction_id": "a", "label": 1, "timestamp": "2024-05-01T12:00:00Z"}',
        b'{"prediction_id": "b", "label": 1.0}',  # field-by-field path
        b'{"prediction_id": "c", "label": 0, "timestamp": "later"}',
        b'{"prediction_id": "d", "label": true, "timestamp": 1714564800000}',
    ]
    labels, errors = decode_labels(
        [Record("labels", i, i, None, value) for i, value in enumerate(raw)], RULES
    )
    assert labels.prediction_id == ["a", "b", "d"]
    assert labels.label == [1, 1, 1]
    assert labels.partition == [0, 1, 3]
    assert labels.timestamp[0] == 1714564800.0 and math.isnan(labels.timestamp[1])
    assert labels.timestamp[2] == 1714564800.0
    assert [(error.record.offset, error.reason) for error in errors] == [(2, "bad_timestamp")]


def test_attribute_names_need_not_be_identifiers_nor_unique() -> None:
    rules = DecodeRules(attributes=("age-group", "class", "age-group"))
    value = orjson.dumps(
        {
            "prediction_id": "a",
            "model_id": "m",
            "timestamp": 1,
            "prediction": 1,
            "sensitive": {"age-group": "18-25", "class": "x", "other": 3},
        }
    )
    events, errors = decode_predictions([record(value), record(value, offset=8)], rules)
    assert errors == []
    assert events.sensitive == {"age-group": ["18-25", "18-25"], "class": ["x", "x"]}
