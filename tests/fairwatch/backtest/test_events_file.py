"""Reading EVENTS: which topic each event goes to, its arrival time, where it came from."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import orjson
import pytest

from fairwatch.backtest.events_file import EventsFile, EventsFileError, read_events
from monitor.config import MonitorConfig, config_from_dict
from monitor.stream.decode import Record

CONFIG = config_from_dict(
    {
        "kafka": {"predictions_topic": "scores", "labels_topic": "outcomes"},
        "sensitive": {"attributes": ["sex"]},
        "embedded_sink": {"path": "unused.sqlite"},
    }
)


def read(path: Path, config: MonitorConfig = CONFIG) -> EventsFile:
    return read_events(path, config)


def messages(events: EventsFile) -> list[tuple[str, bytes | None]]:
    recorded = events.events
    return list(zip(recorded.topics, recorded.values, strict=True))


def test_jsonl_lines_are_messages_as_is_and_a_line_without_model_id_is_a_label(
    tmp_path: Path,
) -> None:
    lines = [
        b'{"prediction_id": "a", "model_id": "m", "timestamp": 100, "score": 0.5,'
        b' "sensitive": {"sex": "F"}}',
        b"",
        b'{"prediction_id": "a", "label": 1, "timestamp": "1970-01-01T00:03:20Z"}',
        b'{"prediction_id": "b", "model_id": null, "label": 0}',
        b'{"prediction_id": "c", "model_id": "m", "kind": "label", "label": 1}\r',
        b'{"prediction_id": "d", "kind": "prediction", "timestamp": 150}',
        b"[1, 2]",
        b'{"prediction_id": "e", "timestamp": ',
        b"   ",
    ]
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    events = read(path)
    assert messages(events) == [
        ("scores", lines[0]),
        ("outcomes", lines[2]),
        ("outcomes", lines[3]),
        ("outcomes", lines[4][:-1]),  # the explicit kind wins over model_id; CR dropped
        ("scores", lines[5]),  # the explicit kind wins over the missing model_id
        ("scores", lines[6]),  # not an object: the decoder says why
        ("scores", lines[7]),
    ]
    assert (events.predictions, events.labels, events.unit) == (4, 3, "line")
    assert events.events.keys[:2] == [b"a", b"a"] and events.events.keys[5] is None
    arrivals = events.events.arrivals.tolist()
    assert arrivals[:2] == [100.0, 200.0] and arrivals[4] == 150.0
    # no time of their own (or none that can be read): they arrive when they are read
    assert all(math.isnan(arrivals[index]) for index in (2, 3, 5, 6))
    # where each message came from, by the offset the replay gives it in its topic
    assert [events.origin(Record("scores", 0, offset, None, None)) for offset in range(4)] == [
        1,
        6,
        7,
        8,
    ]
    assert [events.origin(Record("outcomes", 0, offset, None, None)) for offset in range(3)] == [
        3,
        4,
        5,
    ]


def test_gzip_jsonl_is_read(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"prediction_id": "a", "label": 1}\n'))
    assert messages(read(path)) == [("outcomes", b'{"prediction_id": "a", "label": 1}')]


def test_csv_rows_become_messages_and_an_empty_model_is_a_label(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        "prediction_id,model_id,timestamp,score,prediction,label,sex\n"
        "007,m,2024-05-01T12:00:00Z,0.7,,,F\n"
        "007,,1714564800,,,1,\n"
        "008,m,2024-05-01T12:00:00,,1,0,M\n",
        encoding="utf-8",
    )
    events = read(path)
    bodies = [(topic, orjson.loads(value or b"")) for topic, value in messages(events)]
    assert bodies == [
        (
            "scores",
            {
                "prediction_id": "007",  # text, leading zeros kept
                "model_id": "m",
                "timestamp": "2024-05-01T12:00:00Z",
                "score": 0.7,
                "sensitive": {"sex": "F"},
            },
        ),
        ("outcomes", {"prediction_id": "007", "timestamp": 1714564800, "label": 1}),
        (
            "scores",
            {
                "prediction_id": "008",
                "model_id": "m",
                "timestamp": "2024-05-01T12:00:00",  # no offset: the decoder refuses it
                "prediction": 1,
                "label": 0,
                "sensitive": {"sex": "M"},
            },
        ),
    ]
    assert events.unit == "row"
    arrivals = events.events.arrivals.tolist()
    assert arrivals[:2] == [1714564800.0, 1714564800.0] and math.isnan(arrivals[2])


def test_parquet_with_a_sensitive_struct_and_integer_ids(tmp_path: Path) -> None:
    import pyarrow as arrow
    import pyarrow.parquet as parquet

    table = arrow.table(
        {
            "prediction_id": [1, 1],
            "model_id": ["m", None],
            "timestamp": [1714564800.0, 1714564900.5],
            "score": [0.2, None],
            "label": [None, 0],
            "sensitive": [{"sex": "F"}, {"sex": None}],
        }
    )
    path = tmp_path / "events.parquet"
    parquet.write_table(table, path)
    bodies = [(topic, orjson.loads(value or b"")) for topic, value in messages(read(path))]
    assert bodies == [
        (
            "scores",
            {
                "prediction_id": "1",
                "model_id": "m",
                "timestamp": 1714564800.0,
                "score": 0.2,
                "sensitive": {"sex": "F"},
            },
        ),
        ("outcomes", {"prediction_id": "1", "timestamp": 1714564900.5, "label": 0}),
    ]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("events.csv", "model_id,timestamp\nm,1\n", "no prediction_id column"),
        ("events.csv", "prediction_id,timestamp\na,1\n", "no model_id column"),
        ("events.csv", "prediction_id,model_id,sex\n", "the file holds no events"),
        ("events.jsonl", "\n\n", "the file holds no events"),
    ],
)
def test_unusable_files_raise_one_line(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(EventsFileError, match=message) as raised:
        read(path)
    assert "\n" not in str(raised.value)
