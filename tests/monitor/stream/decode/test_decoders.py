"""Decoding and validation: each bad-input case is rejected with its reason, never raised."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.stream.decode import (
    MAX_NESTING,
    DecodeRules,
    Reason,
    Record,
    decode_labels,
    decode_predictions,
)
from tests.monitor.stream.decode.cases import (
    LABEL_CASES,
    PREDICTION_CASES,
    RULES,
    Case,
    predict,
)


def record(value: bytes | None, topic: str = "predictions", offset: int = 7) -> Record:
    return Record(topic, 2, offset, b"key", value)


def _cases(cases: list[Case]) -> list[Any]:
    return [pytest.param(case, id=case.name) for case in cases]


@pytest.mark.parametrize("case", _cases([c for c in PREDICTION_CASES if c.reason]))
def test_bad_prediction_is_rejected_with_its_reason_and_original_bytes(case: Case) -> None:
    good = record(predict(prediction_id="ok"), offset=1)
    bad = record(case.value)
    events, errors = decode_predictions([good, bad, good], RULES)
    assert [error.reason for error in errors] == [case.reason]
    assert errors[0].record is bad and errors[0].record.value == case.value
    assert errors[0].detail
    assert len(events) == 2  # the good records around it are kept


@pytest.mark.parametrize("case", _cases([c for c in PREDICTION_CASES if not c.reason]))
def test_accepted_prediction_case_is_decoded_with_its_event_time(case: Case) -> None:
    good = record(predict(prediction_id="ok"), offset=1)
    events, errors = decode_predictions([good, record(case.value), good], RULES)
    assert [error.reason for error in errors] == []
    assert events.prediction_id[1] == orjson.loads(case.value or b"")["prediction_id"]
    if case.time is not None:
        assert events.timestamp[1] == pytest.approx(case.time, abs=1e-6)


@pytest.mark.parametrize("case", _cases(LABEL_CASES))
def test_label_case_gets_the_decoders_verdict(case: Case) -> None:
    labels, errors = decode_labels([record(case.value, "labels")], RULES)
    assert len(labels) == (0 if case.reason else 1)
    assert [error.reason for error in errors] == ([case.reason] if case.reason else [])


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

# Hostile values, put in any field (raw JSON text goes in as an orjson.Fragment).
_HOSTILE: list[object] = [
    orjson.Fragment(b'"M\xa6"'),  # a byte that is not UTF-8, inside a string
    orjson.Fragment(b'"\xed\xa0\x80"'),  # an encoded surrogate (not UTF-8 either)
    orjson.Fragment(b'"\\ud800"'),  # a lone surrogate escape: no UTF-8 form
    orjson.Fragment(b'{"\\udc00": 1}'),  # ... as a key
    orjson.Fragment(b'"\\ud83d\\ude00"'),  # an escaped surrogate pair: a valid emoji
    "\u202eRTL \U0001f600 \x00 \u200d\ufeff",  # odd but valid: RTL mark, emoji, NUL, BOM
    "x" * 300,
    orjson.Fragment(b"1" + b"0" * 400),  # an integer beyond 64 bits (and any float)
    orjson.Fragment(b"-1" + b"0" * 30),
    orjson.Fragment(b"1e400"),
    orjson.Fragment(b"NaN"),
    orjson.Fragment(b"-Infinity"),
    orjson.Fragment(b"[" * (MAX_NESTING - 2) + b"]" * (MAX_NESTING - 2)),  # deep, allowed
    orjson.Fragment(b"[" * MAX_NESTING + b"]" * MAX_NESTING),  # deeper than allowed
    [],
    {"nested": {"object": [1, None]}},
]

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
        {"sex": "Female", "race": orjson.Fragment(b'"\xa6"')},  # in an attribute not read
        {"sex": "Female", "race": orjson.Fragment(b'"\\udfff"')},
        orjson.Fragment(b'{"sex":"Female","sex":"Male"}'),  # a key twice: the last one
    ],
    "note": ["an unknown field", ...],  # read by nothing: ignored, unless its bytes are bad
}
_FIELD_CHOICES = {name: [*choices, *_HOSTILE] for name, choices in _FIELD_CHOICES.items()}
_FIELD_CHOICES["sensitive"] += [{"sex": value} for value in _HOSTILE]

# big enough for the deep values (a deep value in each field is oversized, which is fine too)
_PROPERTY_RULES = dataclasses.replace(RULES, max_event_bytes=16384)


def _expected(raw: bytes | None) -> tuple[str, object]:
    """One record through the field-by-field path alone: its reason, or its accepted row."""
    from monitor.stream.decode.fields import decode_prediction
    from monitor.stream.decode.reasons import Reject

    try:
        row = decode_prediction(record(raw), _PROPERTY_RULES)
    except Reject as reject:
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
    st.integers(min_value=0, max_value=200),
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
    predict().decode().encode("utf-16"),
    b"\xef\xbb\xbf" + predict(),
    b"\x00",
    b"\n",
    b"{" * 3000,
    b'{"a":' * 2000 + b"1" + b"}" * 2000,
]


def _flip(raw: bytes, at: int, bits: int) -> bytes:
    at %= len(raw)
    return raw[:at] + bytes([raw[at] ^ bits]) + raw[at + 1 :]


def _damaged(events: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    """An event with one byte changed, cut short, or with bytes inserted."""
    return st.one_of(
        st.builds(_flip, events, st.integers(min_value=0), st.integers(min_value=1, max_value=255)),
        st.builds(lambda raw, at: raw[: at % len(raw)], events, st.integers(min_value=0)),
        st.builds(
            lambda raw, at, extra: raw[: at % len(raw)] + extra + raw[at % len(raw) :],
            events,
            st.integers(min_value=0),
            st.binary(min_size=1, max_size=8),
        ),
    )


_DAMAGED = _damaged(_MUTATED)


@settings(max_examples=400, deadline=None)
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
            _DAMAGED,
            st.binary(max_size=64),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_batch_decoding_equals_field_by_field_decoding(values: list[bytes | None]) -> None:
    records = [
        Record("predictions", index % 3, index, b"k", value) for index, value in enumerate(values)
    ]
    events, errors = decode_predictions(records, _PROPERTY_RULES)
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


_LABEL_CHOICES: dict[str, list[object]] = {
    "prediction_id": ["p", "", 7, ["p"], None, ..., *_HOSTILE],
    "label": [0, 1, True, False, 1.0, 2, "1", None, ..., *_HOSTILE],
    "timestamp": [1714564800, 1714564800123, "2024-05-01T12:00:00Z", "soon", -1, None, ...],
    "note": ["an unknown field", ..., *_HOSTILE],
}
_LABEL_CHOICES["timestamp"] += _HOSTILE

# a valid label with up to two fields changed to any of their choices
_LABEL_MUTATED = st.dictionaries(
    st.sampled_from(sorted(_LABEL_CHOICES)),
    st.sampled_from(range(max(map(len, _LABEL_CHOICES.values())))),
    max_size=2,
).map(
    lambda changes: orjson.dumps(
        {
            key: value
            for key, value in {
                "prediction_id": "p",
                "label": 1,
                **{
                    name: _LABEL_CHOICES[name][pick % len(_LABEL_CHOICES[name])]
                    for name, pick in changes.items()
                },
            }.items()
            if value is not ...
        }
    )
)


def _expected_label(raw: bytes | None) -> tuple[str, object]:
    """One label record through the field-by-field path alone."""
    from monitor.stream.decode.fields import decode_label
    from monitor.stream.decode.reasons import Reject

    try:
        prediction_id, label, timestamp = decode_label(record(raw, "labels"), _PROPERTY_RULES)
    except Reject as reject:
        return ("rejected", reject.reason)
    return ("accepted", (prediction_id, label, None if math.isnan(timestamp) else timestamp))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            _LABEL_MUTATED,
            _LABEL_MUTATED,
            _damaged(_LABEL_MUTATED),
            st.sampled_from(_ODD_VALUES),
            st.binary(max_size=64),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_label_batch_decoding_equals_field_by_field_decoding(values: list[bytes | None]) -> None:
    records = [
        Record("labels", index % 3, index, None, value) for index, value in enumerate(values)
    ]
    labels, errors = decode_labels(records, _PROPERTY_RULES)
    expected = [(index, _expected_label(value)) for index, value in enumerate(values)]
    assert [(error.record.offset, error.reason) for error in errors] == [
        (index, outcome[1]) for index, outcome in expected if outcome[0] == "rejected"
    ]
    accepted = [(index, outcome[1]) for index, outcome in expected if outcome[0] == "accepted"]
    got = [
        (key, label, None if math.isnan(stamp) else stamp)
        for key, label, stamp in zip(
            labels.prediction_id, labels.label, labels.timestamp, strict=True
        )
    ]
    assert got == [row for _index, row in accepted]
    assert labels.partition == [index % 3 for index, _row in accepted]


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
    from monitor.stream.decode import decode_runs

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


# -- messages that stopped the daemon: bad bytes and deep nesting in a batch of good records --

_LARGE_RULES = dataclasses.replace(RULES, max_event_bytes=65536)
INVALID_UTF8 = (
    b'{"prediction_id":"p1","model_id":"credit","timestamp":1700000000,"score":0.7,'
    b'"sensitive":{"sex":"M\xa6","race":"White"}}'
)
NESTED_3000 = b'{"a":' * 3000 + b"1" + b"}" * 3000
POISON_PREDICTIONS = [
    pytest.param(INVALID_UTF8, "not UTF-8: byte 0xa6", id="invalid-utf8"),
    pytest.param(NESTED_3000, "nested more than 1,024 levels", id="nested-3000"),
    pytest.param(
        predict(extra=orjson.Fragment(b"[" * 3000 + b"]" * 3000)),
        "nested more than 1,024 levels",
        id="event-with-a-deep-field",
    ),
]
POISON_LABELS = [
    pytest.param(b'{"prediction_id":"p\xa6","label":1}', "not UTF-8", id="invalid-utf8"),
    pytest.param(
        b'{"prediction_id":"p","label":1,"source":"M\xa6"}', "not UTF-8", id="in-unknown-field"
    ),
    pytest.param(NESTED_3000, "nested more than 1,024 levels", id="nested-3000"),
]


def _good_predictions(count: int) -> list[bytes]:
    return [
        predict(prediction_id=f"g{index}", prediction=..., score=(index % 10) / 10)
        for index in range(count)
    ]


@pytest.mark.parametrize(("poison", "detail"), POISON_PREDICTIONS)
def test_a_poison_prediction_is_one_invalid_event_and_its_batch_is_kept(
    poison: bytes, detail: str
) -> None:
    good = _good_predictions(1000)
    values = [*good[:500], poison, *good[500:]]
    records = [record(value, offset=index) for index, value in enumerate(values)]
    events, errors = decode_predictions(records, _LARGE_RULES)
    [error] = errors
    assert (error.record.offset, error.reason, error.record.value) == (500, "invalid_json", poison)
    assert detail in error.detail
    expected, _ = decode_predictions([record(value) for value in good], _LARGE_RULES)
    assert events.prediction_id == expected.prediction_id == [f"g{i}" for i in range(1000)]
    assert events.timestamp.tolist() == expected.timestamp.tolist()
    assert events.prediction.tolist() == expected.prediction.tolist()
    assert events.score.tolist() == expected.score.tolist()
    assert events.sensitive == expected.sensitive


@pytest.mark.parametrize(("poison", "detail"), POISON_LABELS)
def test_a_poison_label_is_one_invalid_event_and_its_batch_is_kept(
    poison: bytes, detail: str
) -> None:
    good = [b'{"prediction_id":"g%d","label":%d}' % (index, index % 2) for index in range(1000)]
    values = [*good[:500], poison, *good[500:]]
    records = [record(value, "labels", offset=index) for index, value in enumerate(values)]
    labels, errors = decode_labels(records, _LARGE_RULES)
    [error] = errors
    assert (error.record.offset, error.reason, error.record.value) == (500, "invalid_json", poison)
    assert detail in error.detail
    assert labels.prediction_id == [f"g{index}" for index in range(1000)]
    assert labels.label == [index % 2 for index in range(1000)]


def test_poison_messages_from_the_consumer_process_are_rejected_one_by_one() -> None:
    from monitor.stream.decode import decode_runs

    good = _good_predictions(6)
    label = b'{"prediction_id":"g%d","label":1}'
    runs = [
        ("predictions", 0, [10, 11, 12], [None] * 3, [good[0], INVALID_UTF8, good[1]]),
        ("labels", 0, [4, 5], [None] * 2, [label % 0, b'{"prediction_id":"p\xa6","label":1}']),
        ("predictions", 1, [20, 21, 22], [None] * 3, [NESTED_3000, good[2], good[3]]),
        ("labels", 1, [7, 8], [None] * 2, [NESTED_3000, label % 2]),
        ("predictions", 2, [30, 31], [None] * 2, [good[4], good[5]]),
    ]
    batch = decode_runs(runs, _LARGE_RULES, "predictions", "labels")
    assert [
        (error.record.topic, error.record.partition, error.record.offset, error.reason)
        for error in batch.rejected
    ] == [
        ("predictions", 0, 11, "invalid_json"),
        ("predictions", 1, 20, "invalid_json"),
        ("labels", 0, 5, "invalid_json"),
        ("labels", 1, 7, "invalid_json"),
    ]
    assert batch.predictions.prediction_id == [f"g{index}" for index in range(6)]
    assert batch.predictions.partition.tolist() == [0, 0, 1, 1, 2, 2]
    assert batch.labels.prediction_id == ["g0", "g2"] and batch.labels.partition == [0, 1]
    assert batch.consumed == {"predictions": 8, "labels": 4}
    assert batch.positions[("predictions", 1)] == 23 and batch.positions[("labels", 1)] == 9


@pytest.mark.parametrize("batch_size", [1, 3])
def test_nesting_up_to_the_limit_is_read_and_deeper_is_rejected(batch_size: int) -> None:
    def event(depth: int) -> bytes:  # the event object is the first level
        return predict(extra=orjson.Fragment(b"[" * (depth - 1) + b"]" * (depth - 1)))

    for depth, accepted in [(MAX_NESTING, True), (MAX_NESTING + 1, False)]:
        values = [predict(prediction_id="ok")] * (batch_size - 1) + [event(depth)]
        events, errors = decode_predictions(
            [record(value, offset=index) for index, value in enumerate(values)], _LARGE_RULES
        )
        assert len(events) == batch_size - 1 + accepted
        assert [error.reason for error in errors] == ([] if accepted else ["invalid_json"])


def test_an_exception_the_decoder_does_not_foresee_rejects_only_its_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import monitor.stream.decode.decoders

    class Broken:
        def decode(self, raw: bytes) -> object:
            raise MemoryError("typed decoder broke")

        decode_lines = decode

    def broken_label(record: Record, rules: DecodeRules) -> tuple[str, int, float]:
        if b"boom" in (record.value or b""):
            raise ZeroDivisionError("field-by-field decoder broke")
        return ("x", 1, math.nan)

    # (patched where decode_labels looks them up)
    monkeypatch.setattr(monitor.stream.decode.decoders, "LABEL_DECODER", Broken())
    monkeypatch.setattr(monitor.stream.decode.decoders, "decode_label", broken_label)
    labels, errors = decode_labels(
        [record(b"{}", "labels", 1), record(b"boom", "labels", 2), record(b"{}", "labels", 3)],
        RULES,
    )
    assert labels.prediction_id == ["x", "x"]
    [error] = errors
    assert error.reason == "decoder_error" and error.reason in Reason
    assert error.record.offset == 2
    assert error.detail == "ZeroDivisionError: field-by-field decoder broke"


@pytest.mark.parametrize("stamp", [1.7e308, 253402300800000, 253402300800000.0 * 10])  # (ms)
def test_event_times_after_the_year_9999_are_bad_timestamps(stamp: float) -> None:
    good = {
        "prediction_id": "ok",
        "model_id": "credit",
        "timestamp": 1_700_000_000,
        "score": 0.5,
        "sensitive": {"sex": "F", "race": "A"},
    }
    bad = {**good, "prediction_id": "far", "timestamp": stamp}
    batch = [Record("p", 0, i, None, orjson.dumps(e)) for i, e in enumerate([good, bad])]
    rules = DecodeRules(thresholds={"credit": 0.5}, attributes=("sex", "race"))
    accepted, rejected = decode_predictions(batch, rules)
    assert accepted.prediction_id == ["ok"]
    assert [(r.reason, r.record.offset) for r in rejected] == [("bad_timestamp", 1)]
    labels, label_errors = decode_labels(
        [
            Record(
                "l",
                0,
                0,
                None,
                orjson.dumps({"prediction_id": "x", "label": 1, "timestamp": stamp}),
            )
        ],
        rules,
    )
    assert len(labels) == 0 and [r.reason for r in label_errors] == ["bad_timestamp"]
