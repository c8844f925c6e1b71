"""Reading audit input files (JSONL, CSV or Parquet) into named numpy columns.

Sensitive attributes may be columns or live in a ``sensitive`` object per row (as in prediction
events); objects are flattened so that ``sensitive.sex`` and ``sex`` are both found. Reading
goes through orjson (JSONL) and pyarrow (CSV, Parquet): no pandas import on this path, which
keeps the command's start-up short.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

import numpy as np
import orjson

from fairwatch.audit.errors import AuditInputError

FORMATS = ("jsonl", "csv", "parquet")
_SUFFIXES = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}


@dataclass(frozen=True)
class Rows:
    """The columns of an input file: name → numpy array, every array ``length`` long."""

    columns: dict[str, np.ndarray]
    length: int

    def __contains__(self, name: object) -> bool:
        return name in self.columns

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]


def detect_format(path: Path, declared: str | None = None) -> str:
    """The input format: ``declared`` if given, else from the file name (``.gz`` ignored)."""
    if declared is not None:
        if declared not in FORMATS:
            raise AuditInputError(
                f"unknown input format {declared!r}; expected one of {', '.join(FORMATS)}"
            )
        return declared
    suffixes = [suffix.lower() for suffix in path.suffixes if suffix.lower() != ".gz"]
    found = _SUFFIXES.get(suffixes[-1]) if suffixes else None
    if found is None:
        raise AuditInputError(
            f"{path}: unknown file format {''.join(path.suffixes) or '(no extension)'}; "
            "use .jsonl, .csv or .parquet, or pass --input-format"
        )
    return found


def read_rows(path: str | Path, declared_format: str | None = None) -> Rows:
    """Read every row of ``path``; raises :class:`AuditInputError` with a one-line reason."""
    file = Path(path)
    if not file.exists():
        raise AuditInputError(f"{file}: no such file")
    if file.is_dir():
        raise AuditInputError(f"{file}: is a directory, not a file")
    file_format = detect_format(file, declared_format)
    if file.stat().st_size == 0:
        raise AuditInputError(f"{file}: the file is empty")
    try:
        rows = _read_jsonl(file) if file_format == "jsonl" else _read_arrow(file, file_format)
    except AuditInputError:
        raise
    except Exception as error:  # a parser's own message, flattened to one line
        detail = " ".join(str(error).split()) or type(error).__name__
        raise AuditInputError(f"{file}: cannot read as {file_format}: {detail}") from None
    if rows.length == 0:
        raise AuditInputError(f"{file}: the file has no rows")
    return rows


def _open(file: Path) -> BinaryIO:
    if file.suffix.lower() == ".gz":
        return cast(BinaryIO, gzip.open(file, "rb"))
    return open(file, "rb")


def _read_jsonl(file: Path) -> Rows:
    records: list[dict[str, Any]] = []
    with _open(file) as stream:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError as error:
                raise AuditInputError(f"{file}:{number}: invalid JSON ({error})") from None
            if not isinstance(record, dict):
                raise AuditInputError(
                    f"{file}:{number}: each line must be a JSON object, got {type(record).__name__}"
                )
            sensitive = record.pop("sensitive", None)
            if isinstance(sensitive, dict):
                for name, value in sensitive.items():
                    record[f"sensitive.{name}"] = value
            elif sensitive is not None:
                record["sensitive"] = sensitive
            records.append(record)
    names = list(dict.fromkeys(name for record in records for name in record))
    columns = {}
    for name in names:
        column = np.empty(len(records), dtype=object)
        column[:] = [record.get(name) for record in records]
        columns[name] = column
    return Rows(columns, len(records))


def _read_arrow(file: Path, file_format: str) -> Rows:
    if file_format == "csv":
        import pyarrow.csv as arrow_csv

        table = arrow_csv.read_csv(file)
    else:
        import pyarrow.parquet as arrow_parquet

        # ParquetFile.read, unlike read_table, does not import pandas for pandas-written files
        table = arrow_parquet.ParquetFile(file).read(use_pandas_metadata=False)
    columns: dict[str, np.ndarray] = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        array = column.combine_chunks()
        if array.type.num_fields and hasattr(array.type, "field"):  # a struct: flatten it
            for index in range(array.type.num_fields):
                field = array.type.field(index)
                columns[f"{name}.{field.name}"] = _to_numpy(array.field(index))
            continue
        columns[name] = _to_numpy(array)
    return Rows(columns, table.num_rows)


def _to_numpy(array: Any) -> np.ndarray:
    """Numbers become a numeric array, anything else an object array. Values go through Python
    lists: pyarrow's own numpy conversion imports pandas, a second of start-up on a busy
    machine, for a file the audit reads once."""
    import pyarrow.types as types

    values = array.to_pylist()
    if types.is_integer(array.type) or types.is_floating(array.type):
        if array.null_count == 0:
            return np.array(values)
        return np.array([np.nan if value is None else value for value in values], dtype=float)
    column = np.empty(len(values), dtype=object)
    column[:] = values
    return column
