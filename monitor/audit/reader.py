"""Reading audit input files: JSONL, CSV or Parquet rows into a pandas DataFrame.

Sensitive attributes may be columns or live in a ``sensitive`` object per row (as in prediction
events); objects are flattened so that ``sensitive.sex`` and ``sex`` are both found.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from monitor.audit.errors import AuditInputError

FORMATS = ("jsonl", "csv", "parquet")
_SUFFIXES = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}


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


def read_rows(path: str | Path, declared_format: str | None = None) -> pd.DataFrame:
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
        if file_format == "jsonl":
            frame = _read_jsonl(file)
        elif file_format == "csv":
            frame = pd.read_csv(file, low_memory=False)
        else:
            frame = pd.read_parquet(file)
    except AuditInputError:
        raise
    except pd.errors.EmptyDataError:
        raise AuditInputError(f"{file}: the file is empty") from None
    except Exception as error:  # a parser's own message, flattened to one line
        detail = " ".join(str(error).split()) or type(error).__name__
        raise AuditInputError(f"{file}: cannot read as {file_format}: {detail}") from None
    if frame.empty:
        raise AuditInputError(f"{file}: the file has no rows")
    return flatten_sensitive(frame)


def _read_jsonl(file: Path) -> pd.DataFrame:
    opener: Any = open
    if file.suffix.lower() == ".gz":
        import gzip

        opener = gzip.open
    records = []
    with opener(file, "rb") as stream:
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
            records.append(record)
    if not records:
        raise AuditInputError(f"{file}: the file has no rows")
    return pd.DataFrame.from_records(records)


def flatten_sensitive(frame: pd.DataFrame) -> pd.DataFrame:
    """Expand a ``sensitive`` column of objects into ``sensitive.<attribute>`` columns."""
    if "sensitive" not in frame.columns:
        return frame
    values = frame["sensitive"]
    if not values.map(lambda value: isinstance(value, dict) or value is None).all():
        return frame
    expanded = pd.DataFrame.from_records(
        [value if isinstance(value, dict) else {} for value in values], index=frame.index
    )
    expanded.columns = [f"sensitive.{name}" for name in expanded.columns]
    return pd.concat([frame.drop(columns=["sensitive"]), expanded], axis=1)
