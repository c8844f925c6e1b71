"""The embedded sink: the same rows as InfluxDB, kept in one SQLite file, with a read API.

One table per measurement. Tag columns and the time form each row's identity (extra labels are
kept as canonical JSON in a ``labels`` column, absent optional tags as ``''``), so writing the same
window again replaces the whole row (``INSERT OR REPLACE``): unlike InfluxDB, a field that became
undefined is removed too. Writes are synchronous: ``backlog()`` is always 0.

Used by ``fairwatch`` users without InfluxDB, by the demo's HTML report and by tests.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from monitor.engine.results import WindowEvaluation
from monitor.sinks.counters import ROWS_WRITTEN
from monitor.sinks.errors import SinkClosedError
from monitor.sinks.points import (
    DISPARITY_MEASUREMENT,
    DISPARITY_TAGS,
    FIELD_TYPES,
    GROUP_MEASUREMENT,
    GROUP_TAGS,
    PIPELINE_MEASUREMENT,
    FieldValue,
    Row,
    evaluation_rows,
    pipeline_rows,
)
from monitor.types import CounterSample

_SQL_TYPES = {int: "INTEGER", float: "REAL", str: "TEXT"}
_TAG_COLUMNS = {GROUP_MEASUREMENT: GROUP_TAGS, DISPARITY_MEASUREMENT: DISPARITY_TAGS}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _schema() -> list[str]:
    statements = []
    for measurement, tags in _TAG_COLUMNS.items():
        tag_columns = [f"{_quote(tag)} TEXT NOT NULL DEFAULT ''" for tag in tags]
        field_columns = [
            f"{_quote(name)} {_SQL_TYPES[kind]}" for name, kind in FIELD_TYPES[measurement].items()
        ]
        key = ", ".join([*(_quote(tag) for tag in tags), "labels", "time"])
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {measurement} ("
            + ", ".join(
                [
                    *tag_columns,
                    "labels TEXT NOT NULL DEFAULT '{}'",
                    "time REAL NOT NULL",
                    *field_columns,
                    f"PRIMARY KEY ({key})",
                ]
            )
            + ")"
        )
        statements.append(
            f"CREATE INDEX IF NOT EXISTS {measurement}_by_time ON {measurement} (model_id, time)"
        )
    statements.append(
        f"CREATE TABLE IF NOT EXISTS {PIPELINE_MEASUREMENT} ("
        "labels TEXT NOT NULL, name TEXT NOT NULL, time REAL NOT NULL, value REAL NOT NULL, "
        "PRIMARY KEY (name, labels, time))"
    )
    return statements


def _add_new_fields(connection: sqlite3.Connection) -> None:
    """Add the columns of fields added to the schema since the file was created."""
    for measurement in _TAG_COLUMNS:
        present = {row[1] for row in connection.execute(f"PRAGMA table_info({measurement})")}
        for name, kind in FIELD_TYPES[measurement].items():
            if name not in present:
                connection.execute(
                    f"ALTER TABLE {measurement} ADD COLUMN {_quote(name)} {_SQL_TYPES[kind]}"
                )


class EmbeddedSink:
    """Writes evaluations and pipeline counters to a SQLite file (or ``":memory:"``).

    Args:
        path: the database file (created with its parent directory), or ``":memory:"``.
    """

    name = "embedded"

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = sqlite3.connect(
            self.path, check_same_thread=False
        )
        self._connection.row_factory = sqlite3.Row
        with self._lock, self._connection as connection:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            for statement in _schema():
                connection.execute(statement)
            _add_new_fields(connection)
        self._rows_written = 0

    # -- MetricsSink -------------------------------------------------------------------------

    def on_evaluations(
        self, evaluations: Sequence[WindowEvaluation], now: float, watermark: float
    ) -> None:
        """Upsert the rows of ``evaluations`` (one transaction)."""
        self.write_rows(evaluation_rows(evaluations))

    def write_pipeline(self, samples: Sequence[CounterSample], now: float) -> None:
        """Upsert one value per sample name and label set, at time ``now``."""
        self.write_rows(pipeline_rows(samples, now))

    def write_rows(self, rows: Sequence[Row]) -> None:
        """Upsert ``rows`` in one transaction; a row with an existing identity replaces it."""
        with self._lock, self._open() as connection:
            for row in rows:
                for statement, parameters in _upserts(row):
                    connection.execute(statement, parameters)
            self._rows_written += len(rows)

    def flush(self, timeout: float | None = None) -> None:
        """Nothing to wait for: every write is committed before it returns (raises
        :class:`SinkClosedError` after :meth:`close`)."""
        self._open()

    def close(self, timeout: float | None = None) -> None:
        """Close the database (nothing is buffered: ``timeout`` is not needed)."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def backlog(self) -> int:
        """Always 0: writes are synchronous."""
        return 0

    def is_full(self) -> bool:
        """Always false: writes are synchronous."""
        return False

    def is_reachable(self) -> bool:
        """True while the database is open."""
        return self._connection is not None

    def samples(self) -> list[CounterSample]:
        """The sink's own counters (rows written)."""
        return [ROWS_WRITTEN.sample(self._rows_written, sink=self.name)]

    # -- read API ----------------------------------------------------------------------------

    def groups(
        self,
        model_id: str | None = None,
        attribute: str | None = None,
        window: str | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> list[dict[str, Any]]:
        """``fairness_group`` rows as dicts (tags, ``time``, defined fields), oldest first."""
        return self._select(
            GROUP_MEASUREMENT,
            {"model_id": model_id, "attribute": attribute, "window": window},
            since,
            until,
        )

    def disparities(
        self,
        model_id: str | None = None,
        attribute: str | None = None,
        metric: str | None = None,
        window: str | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> list[dict[str, Any]]:
        """``fairness_disparity`` rows as dicts, oldest first; absent ``group`` is left out."""
        return self._select(
            DISPARITY_MEASUREMENT,
            {"model_id": model_id, "attribute": attribute, "metric": metric, "window": window},
            since,
            until,
        )

    def pipeline(self, name: str | None = None) -> list[dict[str, Any]]:
        """``fairwatch_pipeline`` values as dicts (``name``, ``value``, ``time``, labels)."""
        query = f"SELECT labels, name, time, value FROM {PIPELINE_MEASUREMENT}"
        parameters: list[Any] = []
        if name is not None:
            query += " WHERE name = ?"
            parameters.append(name)
        with self._lock:
            records = self._open().execute(query + " ORDER BY time, name", parameters).fetchall()
        return [
            {
                **json.loads(record["labels"]),
                "name": record["name"],
                "time": record["time"],
                "value": record["value"],
            }
            for record in records
        ]

    def models(self) -> list[str]:
        """Every model_id with at least one group row, sorted."""
        with self._lock:
            records = (
                self._open()
                .execute(f"SELECT DISTINCT model_id FROM {GROUP_MEASUREMENT} ORDER BY model_id")
                .fetchall()
            )
        return [record[0] for record in records]

    def rows(self, measurement: str) -> list[Row]:
        """Every stored row of ``measurement`` as :class:`Row` (to compare with other sinks)."""
        if measurement == PIPELINE_MEASUREMENT:
            merged: dict[tuple[str, float], dict[str, FieldValue]] = {}
            for record in self.pipeline():
                labels = {k: v for k, v in record.items() if k not in ("name", "value", "time")}
                key = (json.dumps(labels, sort_keys=True), record["time"])
                merged.setdefault(key, {})[record["name"]] = record["value"]
            return [
                Row(measurement, json.loads(labels), fields, time)
                for (labels, time), fields in merged.items()
            ]
        tags = _TAG_COLUMNS[measurement]
        result = []
        for record in self._select(measurement, {}, None, None):
            row_tags = {key: record.pop(key) for key in list(record) if key in tags}
            row_time = record.pop("time")
            extra = {
                key: record.pop(key) for key in list(record) if key not in FIELD_TYPES[measurement]
            }
            result.append(Row(measurement, {**extra, **row_tags}, record, row_time))
        return result

    # -- internals ---------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        if self._connection is None:
            raise SinkClosedError(f"the embedded sink {self.path} is closed")
        return self._connection

    def _select(
        self,
        measurement: str,
        equal: dict[str, str | None],
        since: float | None,
        until: float | None,
    ) -> list[dict[str, Any]]:
        clauses: list[str] = []
        parameters: list[Any] = []
        for column, value in equal.items():
            if value is not None:
                clauses.append(f"{_quote(column)} = ?")
                parameters.append(value)
        if since is not None:
            clauses.append("time >= ?")
            parameters.append(since)
        if until is not None:
            clauses.append("time <= ?")
            parameters.append(until)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        with self._lock:
            records = (
                self._open()
                .execute(
                    f"SELECT * FROM {measurement}{where} ORDER BY time, model_id, attribute",
                    parameters,
                )
                .fetchall()
            )
        result = []
        for record in records:
            row = {
                key: value
                for key, value in zip(record.keys(), record, strict=True)
                if value is not None
            }
            row.update(json.loads(row.pop("labels")))
            for key in [key for key, value in row.items() if value == ""]:
                del row[key]  # an unset tag (or a column that was a tag in older files)
            result.append(row)
        return result


def _upserts(row: Row) -> list[tuple[str, list[Any]]]:
    if row.measurement == PIPELINE_MEASUREMENT:
        labels = json.dumps(dict(row.tags), sort_keys=True)
        statement = (
            f"INSERT OR REPLACE INTO {PIPELINE_MEASUREMENT} (labels, name, time, value) "
            "VALUES (?, ?, ?, ?)"
        )
        return [(statement, [labels, name, row.time, value]) for name, value in row.fields.items()]
    tags = _TAG_COLUMNS[row.measurement]
    extra = {key: value for key, value in row.tags.items() if key not in tags}
    fields = [name for name in FIELD_TYPES[row.measurement] if name in row.fields]
    columns = [*tags, "labels", "time", *fields]
    values: list[Any] = [
        *(row.tags.get(tag, "") for tag in tags),
        json.dumps(extra, sort_keys=True),
        row.time,
        *(row.fields[name] for name in fields),
    ]
    statement = (
        f"INSERT OR REPLACE INTO {row.measurement} ({', '.join(map(_quote, columns))}) "
        f"VALUES ({', '.join('?' * len(columns))})"
    )
    return [(statement, values)]
