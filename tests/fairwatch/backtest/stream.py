"""A generated stream of prediction and label events for ``fairwatch backtest`` (tests, bench).

Deterministic: in every pane of ``step`` seconds each group gets ``per_group`` predictions,
evenly spaced, of which exactly ``round(rate × per_group)`` are positive decisions (the first
ones), so a window's selection rates, and its demographic parity difference, are known exactly.
Each prediction's label follows ``label_delay`` seconds later as a label event (timestamp: when
it became known). Events are in arrival order, as one partition of each topic would hold them.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

MODEL = "credit"
ATTRIBUTE = "group"
START = 1767571200.0  # Mon 05 Jan 2026 00:00 UTC
HOUR = 3600.0


@dataclass(frozen=True)
class Drift:
    """From ``start`` to ``end`` (event time), ``group`` is selected at ``rate``."""

    start: float
    end: float
    group: str
    rate: float


def rfc3339(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, UTC)
    spec = "seconds" if epoch == int(epoch) else "milliseconds"
    return moment.isoformat(timespec=spec).replace("+00:00", "Z")


def make_events(
    *,
    start: float = START,
    hours: float = 24.0,
    step: float = 300.0,
    per_group: int = 30,
    groups: Sequence[str] = ("A", "B"),
    rate: float = 0.5,
    drifts: Sequence[Drift] = (),
    label_delay: float = 600.0,
) -> list[tuple[float, dict[str, Any]]]:
    """``(arrival, body)`` of every event, in arrival order (predictions before labels on ties)."""
    events: list[tuple[float, int, int, dict[str, Any]]] = []
    spacing = step / per_group
    number = 0
    for pane in range(round(hours * 3600 / step)):
        pane_start = start + pane * step
        for position, group in enumerate(groups):
            group_rate = rate
            for drift in drifts:
                if group == drift.group and drift.start <= pane_start < drift.end:
                    group_rate = drift.rate
            selected = round(group_rate * per_group)
            for index in range(per_group):
                moment = pane_start + index * spacing + position * spacing / len(groups)
                prediction_id = f"p-{number:09d}"
                number += 1
                decision = int(index < selected)
                events.append(
                    (
                        moment,
                        0,
                        number,
                        {
                            "prediction_id": prediction_id,
                            "model_id": MODEL,
                            "timestamp": rfc3339(moment),
                            "prediction": decision,
                            "score": 0.75 if decision else 0.25,
                            "sensitive": {ATTRIBUTE: group},
                        },
                    )
                )
                known = moment + label_delay
                events.append(
                    (
                        known,
                        1,
                        number,
                        {
                            "prediction_id": prediction_id,
                            "label": int(index % 2 == 0),
                            "timestamp": rfc3339(known),
                        },
                    )
                )
    events.sort(key=lambda event: event[:3])
    return [(arrival, body) for arrival, _kind, _number, body in events]


def write_jsonl(path: Path, bodies: Iterable[dict[str, Any]]) -> Path:
    with path.open("wb") as stream:
        for body in bodies:
            stream.write(orjson.dumps(body) + b"\n")
    return path


COLUMNS = ("prediction_id", "model_id", "timestamp", "score", "prediction", "label", ATTRIBUTE)


def table_rows(bodies: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events as rows of the CSV/Parquet form (labels have no model_id)."""
    rows = []
    for body in bodies:
        row: dict[str, Any] = dict.fromkeys(COLUMNS)
        row.update({key: value for key, value in body.items() if key != "sensitive"})
        row.update(body.get("sensitive", {}))
        rows.append(row)
    return rows


def write_csv(path: Path, bodies: Iterable[dict[str, Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=COLUMNS)
        writer.writeheader()
        for row in table_rows(bodies):
            writer.writerow({key: "" if value is None else value for key, value in row.items()})
    return path


def write_parquet(path: Path, bodies: Iterable[dict[str, Any]]) -> Path:
    import pyarrow as arrow
    import pyarrow.parquet as parquet

    rows = table_rows(bodies)
    table = arrow.table(
        {
            "prediction_id": arrow.array([row["prediction_id"] for row in rows], arrow.string()),
            "model_id": arrow.array([row["model_id"] for row in rows], arrow.string()),
            "timestamp": arrow.array(
                [datetime.fromisoformat(row["timestamp"].replace("Z", "+00:00")) for row in rows],
                arrow.timestamp("ms", tz="UTC"),
            ),
            "score": arrow.array([row["score"] for row in rows], arrow.float64()),
            "prediction": arrow.array([row["prediction"] for row in rows], arrow.int8()),
            "label": arrow.array([row["label"] for row in rows], arrow.int8()),
            f"sensitive.{ATTRIBUTE}": arrow.array([row[ATTRIBUTE] for row in rows], arrow.string()),
        }
    )
    parquet.write_table(table, path)
    return path
