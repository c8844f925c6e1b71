"""Decoding the records of one topic into accepted events and rejected ones (never raises).

The common case is one typed decode of the whole batch (:mod:`monitor.stream.decode.fast`); only
the records it refuses go through the field-by-field path (:mod:`monitor.stream.decode.fields`),
which names the reason. Both paths' accepted events are merged back in record order.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from monitor.stream.decode.events import Labels, Predictions
from monitor.stream.decode.fast import LABEL_DECODER, event_seconds, prediction_decoder, typed_parse
from monitor.stream.decode.fields import Row, decode_label, decode_prediction
from monitor.stream.decode.reasons import InvalidEvent, Reject, decoder_error
from monitor.stream.decode.records import Record, RecordColumns
from monitor.stream.decode.rules import DecodeRules


def decode_predictions(
    records: Sequence[Record] | RecordColumns, rules: DecodeRules
) -> tuple[Predictions, list[InvalidEvent]]:
    """Decode prediction records into accepted events and rejected ones (never raises).

    The common case is one typed decode of the whole batch (:func:`typed_parse`), then each
    field is taken as a column; the checks left (known model, parseable and finite event time)
    are vectorised. Only records failing a check go through the field-by-field path, which
    names the exact reason (or accepts the rare form the fast path does not cover).
    """
    columns = RecordColumns.of(records)
    attributes = tuple(dict.fromkeys(rules.attributes))  # each once, in order
    events, indexes, slow = typed_parse(
        columns.value, prediction_decoder(attributes), rules.max_event_bytes
    )
    out = Predictions()
    if events:
        ids = list(map(_ID, events))
        models = list(map(_MODEL, events))
        stamp, _unparsed = event_seconds(list(map(_TIME, events)))  # required: NaN is bad
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
    accepted: list[tuple[int, Row]] = []
    for index in sorted(slow):
        record = columns.record(index)
        try:
            accepted.append((index, decode_prediction(record, rules)))
        except Reject as reject:
            errors.append(InvalidEvent(record, reject.reason, reject.detail))
        except Exception as error:  # nothing escapes the decoder
            errors.append(decoder_error(record, error))
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
    slow: list[tuple[int, Row]],
    columns: RecordColumns,
    attributes: Sequence[str],
) -> Predictions:
    """Both paths' accepted events, back in record order."""
    rows: list[tuple[int, Row]] = [
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


def decode_labels(
    records: Sequence[Record] | RecordColumns, rules: DecodeRules
) -> tuple[Labels, list[InvalidEvent]]:
    """Decode label records into accepted labels and rejected ones (never raises); the same two
    paths as :func:`decode_predictions`."""
    columns = RecordColumns.of(records)
    events, indexes, slow = typed_parse(columns.value, LABEL_DECODER, rules.max_event_bytes)
    out = Labels()
    if events:
        stamp, unparsed = event_seconds(list(map(_TIME, events)))  # optional: None is NaN
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
            accepted.append((index, decode_label(record, rules)))
        except Reject as reject:
            errors.append(InvalidEvent(record, reject.reason, reject.detail))
        except Exception as error:  # nothing escapes the decoder
            errors.append(decoder_error(record, error))
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
