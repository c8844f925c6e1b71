"""Reading ``fairwatch backtest``'s EVENTS file into the records a Kafka consumer would hand over.

The file holds prediction and label events (the contract of docs/events.md) in the order they
arrived, as one partition of each topic would. Every event becomes the bytes of one message on the
configured prediction or label topic, so that the pipeline's own decoder accepts or rejects it
(a bad event is a dead letter with its reason, exactly as in production).

* JSONL (``.jsonl``, ``.ndjson``, ``.json``, optionally ``.gz``): each line is one message value,
  as is. A line is a label when it has no ``model_id`` (absent or ``null``), a prediction
  otherwise; an explicit ``"kind": "prediction"`` or ``"kind": "label"`` decides instead. A line
  that is not a JSON object goes to the prediction topic (the decoder names what is wrong with
  it). Blank lines are skipped.
* CSV and Parquet: columns ``prediction_id``, ``model_id``, ``timestamp``, ``score``,
  ``prediction``, ``label`` (and ``kind``), and one column per configured sensitive attribute,
  named like the attribute or ``sensitive.<name>`` (a Parquet struct column ``sensitive`` works
  too). A row whose ``model_id`` is empty is a label. In CSV an empty cell is a missing value,
  the id, model and attribute columns are text (``007`` stays ``007``), and a timestamp of
  digits is epoch seconds (or milliseconds).

A record's arrival time is its event time: a prediction's ``timestamp``, and a label's
``timestamp`` (when its outcome became known); one without a usable timestamp arrives when it is
read (:class:`fairwatch.replay.ReplaySource`).
"""

from __future__ import annotations

import datetime as dt
import gzip
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import orjson

from fairwatch.audit.errors import AuditInputError
from fairwatch.audit.reader import detect_format
from fairwatch.replay import RecordedEvents
from monitor.config import MonitorConfig
from monitor.stream.decode import Record, event_times

PREDICTION = "prediction"
LABEL = "label"
TEXT_COLUMNS = ("prediction_id", "model_id", "kind")
_DIGITS = re.compile(r"^\s*\d+(\.\d+)?\s*$")
_CHUNK = 4096  # lines probed per call when a file holds lines msgspec cannot read


class EventsFileError(Exception):
    """EVENTS cannot be used; the message is one line naming the file and the problem."""


@dataclass
class EventsFile:
    """The events of an EVENTS file as messages, in file order, and where each came from.

    ``origins[topic]`` holds the line (JSONL) or data row (CSV, Parquet) of each message of
    ``topic`` by its offset; ``unit`` says which (``line`` or ``row``).
    """

    path: Path
    format: str
    events: RecordedEvents
    origins: dict[str, np.ndarray]
    unit: str
    predictions: int
    labels: int

    def __len__(self) -> int:
        return len(self.events)

    def origin(self, record: Record) -> int:
        """The line or row ``record`` (as the replay numbered it) was read from."""
        return int(self.origins[record.topic][record.offset])


def read_events(
    path: str | Path, config: MonitorConfig, declared_format: str | None = None
) -> EventsFile:
    """Read ``path`` as events for ``config``'s topics and attributes (or raise
    :class:`EventsFileError`)."""
    file = Path(path)
    if not file.exists():
        raise EventsFileError(f"{file}: no such file")
    if file.is_dir():
        raise EventsFileError(f"{file}: is a directory, not a file")
    try:
        file_format = detect_format(file, declared_format)
    except AuditInputError as error:
        raise EventsFileError(str(error)) from None
    if file.stat().st_size == 0:
        raise EventsFileError(f"{file}: the file is empty")
    try:
        if file_format == "jsonl":
            events = _jsonl_events(file)
        else:
            events = _table_events(file, file_format, config)
    except EventsFileError:
        raise
    except Exception as error:  # a parser's own message, flattened to one line
        detail = " ".join(str(error).split()) or type(error).__name__
        raise EventsFileError(f"{file}: cannot read as {file_format}: {detail}") from None
    if not events.values:
        raise EventsFileError(f"{file}: the file holds no events")
    return _messages(file, file_format, events, config)


@dataclass
class _Events:
    """Events as read, in columns: line or row, kind, prediction id, raw timestamp, value."""

    origins: list[int]
    kinds: list[str]
    keys: list[str | None]
    times: list[Any]
    values: list[bytes]


def _messages(file: Path, file_format: str, events: _Events, config: MonitorConfig) -> EventsFile:
    predictions_topic, labels_topic = config.kafka.predictions_topic, config.kafka.labels_topic
    count = len(events.values)
    prediction = np.fromiter((kind == PREDICTION for kind in events.kinds), bool, count)
    origins = np.asarray(events.origins, dtype=np.int64)
    values: list[bytes | None] = list(events.values)
    recorded = RecordedEvents(
        [predictions_topic if kind == PREDICTION else labels_topic for kind in events.kinds],
        [None if key is None else key.encode() for key in events.keys],
        values,
        event_times(events.times),
    )
    predictions = int(prediction.sum())
    return EventsFile(
        path=file,
        format=file_format,
        events=recorded,
        origins={predictions_topic: origins[prediction], labels_topic: origins[~prediction]},
        unit="line" if file_format == "jsonl" else "row",
        predictions=predictions,
        labels=count - predictions,
    )


def _kind(kind: Any, model_id: Any) -> str:
    """``prediction`` or ``label``: as ``kind`` says, else a label when there is no model."""
    if kind in (PREDICTION, LABEL):
        return str(kind)
    return LABEL if model_id is None or model_id == "" else PREDICTION


# -- JSONL ---------------------------------------------------------------------------------------


class _Probe(msgspec.Struct):
    """The fields that route a line and time its arrival; the decoder reads the rest later."""

    prediction_id: Any = None
    model_id: Any = None
    timestamp: Any = None
    kind: Any = None


_PROBE = msgspec.json.Decoder(_Probe)


def _jsonl_events(file: Path) -> _Events:
    data = file.read_bytes()
    if file.suffix.lower() == ".gz":
        data = gzip.decompress(data)
    values: list[bytes] = []
    numbers: list[int] = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.endswith(b"\r"):
            line = line[:-1]
        if line and not line.isspace():
            values.append(line)
            numbers.append(number)
    del data
    kinds: list[str] = []
    keys: list[str | None] = []
    times: list[Any] = []
    for probe in _probe(values):
        if probe is None:  # not a JSON object: the decoder says why
            kinds.append(PREDICTION)
            keys.append(None)
            times.append(None)
            continue
        kinds.append(_kind(probe.kind, probe.model_id))
        key = probe.prediction_id
        keys.append(key if type(key) is str else None)
        times.append(probe.timestamp)
    return _Events(numbers, kinds, keys, times, values)


def _probe(values: Sequence[bytes]) -> list[_Probe | None]:
    """Each line's routing fields (``None`` for a line that is not a JSON object)."""
    try:
        probes = _PROBE.decode_lines(b"\n".join(values))
        if len(probes) == len(values):
            return list(probes)
    except Exception:  # some line is not a JSON object: probe smaller pieces
        pass
    if len(values) > _CHUNK:
        return [
            probe
            for start in range(0, len(values), _CHUNK)
            for probe in _probe(values[start : start + _CHUNK])
        ]
    out: list[_Probe | None] = []
    for value in values:
        try:
            out.append(_PROBE.decode(value))
        except Exception:
            out.append(None)
    return out


# -- CSV and Parquet -----------------------------------------------------------------------------


def _table_events(file: Path, file_format: str, config: MonitorConfig) -> _Events:
    attributes = list(dict.fromkeys(config.sensitive.attributes))
    table = _read_table(file, file_format, attributes)
    names = set(table.column_names)
    for required in ("prediction_id", "model_id"):
        if required not in names:
            raise EventsFileError(
                f"{file}: no {required} column (columns: {', '.join(table.column_names)}); "
                "rows with an empty model_id are labels"
            )
    attribute_columns = {}
    for attribute in attributes:
        found = next((n for n in (f"sensitive.{attribute}", attribute) if n in names), None)
        if found is None:
            raise EventsFileError(
                f"{file}: no column for the sensitive attribute {attribute!r} (name it "
                f"{attribute} or sensitive.{attribute})"
            )
        attribute_columns[attribute] = found
    csv = file_format == "csv"

    def column(name: str) -> list[Any]:
        if name not in names:
            return [None] * table.num_rows
        values = table.column(name).to_pylist()
        return [_json_value(value, csv) for value in values]

    ids, models, kinds = column("prediction_id"), column("model_id"), column("kind")
    times, scores = column("timestamp"), column("score")
    decisions, labels = column("prediction"), column("label")
    if csv:
        times = [_epoch_text(value) for value in times]
    groups = {attribute: column(name) for attribute, name in attribute_columns.items()}
    events = _Events(list(range(1, table.num_rows + 1)), [], [], times, [])
    for row in range(table.num_rows):
        key = _text(ids[row])
        model = _text(models[row])
        kind = _kind(kinds[row], model)
        body: dict[str, Any] = {"prediction_id": key}
        if kind == PREDICTION:
            body["model_id"] = model
        body["timestamp"] = times[row]
        if kind == PREDICTION:
            body["score"] = scores[row]
            body["prediction"] = decisions[row]
        body["label"] = labels[row]
        if kind == PREDICTION:
            body["sensitive"] = {
                attribute: _text(values[row])
                for attribute, values in groups.items()
                if values[row] is not None
            }
        message = {name: value for name, value in body.items() if value is not None}
        events.kinds.append(kind)
        events.keys.append(key if type(key) is str else None)
        events.values.append(orjson.dumps(message))
    return events


def _read_table(file: Path, file_format: str, attributes: Sequence[str]) -> Any:
    import pyarrow as arrow

    if file_format == "csv":
        import pyarrow.csv as arrow_csv

        text = [*TEXT_COLUMNS, *attributes, *(f"sensitive.{name}" for name in attributes)]
        options = arrow_csv.ConvertOptions(
            column_types={name: arrow.string() for name in text}, strings_can_be_null=True
        )
        table = arrow_csv.read_csv(file, convert_options=options)
    else:
        import pyarrow.parquet as arrow_parquet

        table = arrow_parquet.ParquetFile(file).read(use_pandas_metadata=False)
    return table.flatten()  # a struct column ``sensitive`` becomes sensitive.<name>


def _json_value(value: Any, csv: bool) -> Any:
    """A cell as a JSON value: times as RFC 3339 text, empty CSV cells as missing."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if csv and value == "":
        return None
    return value


def _text(value: Any) -> Any:
    """An id, model or group as text (an integer column of ids is read as its digits)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value


def _epoch_text(value: Any) -> Any:
    """A CSV timestamp of digits is an epoch number (CSV text cannot say it is a number)."""
    if isinstance(value, str) and _DIGITS.match(value):
        return float(value) if "." in value else int(value)
    return value
