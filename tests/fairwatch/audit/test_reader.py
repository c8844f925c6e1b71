"""Reading audit input (:mod:`fairwatch.audit.reader`): one table, whatever the file format.

The same rows written as JSONL (sensitive attributes in an object), gzipped JSONL, CSV and
Parquet read back as the same columns; a bad file is one line naming the file and the reason.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import pandas as pd
import pytest

from fairwatch.audit.errors import AuditInputError
from fairwatch.audit.reader import detect_format, read_rows

ROWS = [
    {"prediction": 1, "label": 1, "score": 0.9, "sex": "F", "race": "A"},
    {"prediction": 0, "label": None, "score": 0.2, "sex": "M", "race": "B"},
    {"prediction": 1, "label": 0, "score": 0.6, "sex": "M", "race": "A"},
]


def write_all(folder: Path) -> dict[str, Path]:
    events = [
        {**{k: v for k, v in row.items() if k not in ("sex", "race")}, "sensitive": {
            "sex": row["sex"], "race": row["race"]}}
        for row in ROWS
    ]  # fmt: skip
    lines = b"".join(orjson.dumps(event) + b"\n" for event in events)
    paths = {
        "jsonl": folder / "rows.jsonl",
        "gzip": folder / "rows.jsonl.gz",
        "csv": folder / "rows.csv",
        "parquet": folder / "rows.parquet",
    }
    paths["jsonl"].write_bytes(lines + b"\n")  # a blank line at the end is allowed
    paths["gzip"].write_bytes(gzip.compress(lines))
    pd.DataFrame(ROWS).to_csv(paths["csv"], index=False)
    pd.DataFrame(ROWS).to_parquet(paths["parquet"])
    return paths


def test_every_format_reads_the_same_rows(tmp_path: Path) -> None:
    for kind, path in write_all(tmp_path).items():
        rows = read_rows(path)
        assert rows.length == 3, kind
        sex = "sensitive.sex" if kind in ("jsonl", "gzip") else "sex"
        assert rows[sex].tolist() == ["F", "M", "M"], kind
        assert [float(v) for v in rows["score"]] == [0.9, 0.2, 0.6], kind
        assert [int(v) for v in rows["prediction"]] == [1, 0, 1], kind
        labels = rows["label"].tolist()
        assert labels[0] == 1 and labels[2] == 0, kind
        assert labels[1] is None or labels[1] != labels[1], kind  # missing: None or NaN


@pytest.mark.parametrize(
    ("name", "declared", "expected"),
    [
        ("a.jsonl", None, "jsonl"),
        ("a.ndjson.gz", None, "jsonl"),
        ("a.CSV", None, "csv"),
        ("a.pq", None, "parquet"),
        ("a.txt", "csv", "csv"),
    ],
)
def test_the_format_comes_from_the_name_or_the_declaration(name, declared, expected) -> None:
    assert detect_format(Path(name), declared) == expected


def test_bad_files_say_what_is_wrong_in_one_line(tmp_path: Path) -> None:
    cases = {
        tmp_path / "missing.jsonl": "no such file",
        tmp_path: "is a directory",
        tmp_path / "rows.txt": "unknown file format",
        tmp_path / "empty.jsonl": "the file is empty",
        tmp_path / "broken.jsonl": "broken.jsonl:2: invalid JSON",
        tmp_path / "list.jsonl": "each line must be a JSON object",
    }
    (tmp_path / "rows.txt").write_text("x")
    (tmp_path / "empty.jsonl").write_text("")
    (tmp_path / "broken.jsonl").write_text('{"a": 1}\n{"a": \n')
    (tmp_path / "list.jsonl").write_text("[1, 2]\n")
    for path, message in cases.items():
        with pytest.raises(AuditInputError, match=message) as raised:
            read_rows(path)
        assert "\n" not in str(raised.value)
    with pytest.raises(AuditInputError, match="unknown input format 'xml'"):
        detect_format(Path("a.jsonl"), "xml")
