"""A data set of scored rows as a stream of prediction and label events, and the figures pandas
gives for a window of it (the test's own reference, independent of the engine).

Rows become predictions in their order, evenly spread over ``days`` days from ``start`` (a
midnight), so that daily windows hold known rows. Each row's label is a separate label event that
arrives ``label_delay(i)`` after its prediction (between ``min_delay`` and ``max_delay``, varying
from row to row), as outcomes become known later. Events are in arrival order, as one partition of
each topic would hold them (docs/events.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tests.fairwatch.backtest.stream import rfc3339, write_jsonl

DAY = 86400.0
HOUR = 3600.0


def event_times(rows: int, start: float, days: float) -> np.ndarray:
    """Each row's prediction time: ``rows`` times evenly spread over ``days`` from ``start``."""
    return start + np.arange(rows) * (days * DAY / rows)


def label_delays(rows: int, min_delay: float, max_delay: float) -> np.ndarray:
    """How long after its prediction each row's label arrives (deterministic, row by row)."""
    return min_delay + (np.arange(rows) * 7919 % 997) / 996 * (max_delay - min_delay)


def events(
    frame: pd.DataFrame,
    *,
    model_id: str,
    attributes: Sequence[str],
    start: float,
    days: float,
    min_delay: float = 0.5 * HOUR,
    max_delay: float = 6 * HOUR,
) -> list[dict[str, Any]]:
    """The prediction and label events of ``frame`` (columns ``prediction``, ``label``, ``score``
    and ``attributes``), in arrival order: predictions before labels at the same moment."""
    times = event_times(len(frame), start, days)
    known = times + label_delays(len(frame), min_delay, max_delay)
    columns = {name: frame[name].to_numpy() for name in ("prediction", "label", "score")}
    groups = {name: frame[name].astype(str).to_numpy() for name in attributes}
    stream: list[tuple[float, int, int, dict[str, Any]]] = []
    for row in range(len(frame)):
        prediction_id = f"{model_id}-{row:06d}"
        stream.append(
            (
                float(times[row]),
                0,
                row,
                {
                    "prediction_id": prediction_id,
                    "model_id": model_id,
                    "timestamp": rfc3339(float(times[row])),
                    "score": round(float(columns["score"][row]), 6),
                    "prediction": int(columns["prediction"][row]),
                    "sensitive": {name: str(values[row]) for name, values in groups.items()},
                },
            )
        )
        stream.append(
            (
                float(known[row]),
                1,
                row,
                {
                    "prediction_id": prediction_id,
                    "label": int(columns["label"][row]),
                    "timestamp": rfc3339(float(known[row])),
                },
            )
        )
    stream.sort(key=lambda event: event[:3])
    return [body for *_order, body in stream]


def write_events(path: Path, frame: pd.DataFrame, **options: Any) -> Path:
    return write_jsonl(path, events(frame, **options))


def window_rows(
    frame: pd.DataFrame, start: float, days: float, end: float, size: float
) -> pd.DataFrame:
    """The rows whose prediction falls in the window ``[end - size, end)``."""
    times = event_times(len(frame), start, days)
    return frame[(times >= end - size) & (times < end)]


#: The rates a difference metric compares, as (rate, rows of its denominator).
RATES: dict[str, tuple[tuple[str, int | None], ...]] = {
    "demographic_parity_difference": (("selection_rate", None),),
    "equalized_odds_difference": (("tpr", 1), ("fpr", 0)),
}


@dataclass(frozen=True)
class Expected:
    """A difference metric computed with pandas: ``value`` = max − min of the rate with the widest
    gap among the groups with at least ``minimum`` rows in its denominator, and who they are."""

    value: float
    rate: str
    highest_group: str
    highest_rate: float
    lowest_group: str
    lowest_rate: float
    highest_n: int
    lowest_n: int
    small_groups: tuple[str, ...]


def expected(rows: pd.DataFrame, attribute: str, metric: str, minimum: int = 30) -> Expected:
    best: Expected | None = None
    small: set[str] = set()
    for rate, label in RATES[metric]:
        chosen = rows if label is None else rows[rows["label"] == label]
        grouped = chosen.groupby(attribute)["prediction"]
        sizes, rates = grouped.size(), grouped.mean()
        small |= set(rows[attribute].unique()) - set(sizes.index[sizes >= minimum])
        rates = rates[sizes >= minimum]
        high, low = rates.idxmax(), rates.idxmin()
        candidate = Expected(
            float(rates[high] - rates[low]),
            rate,
            str(high),
            float(rates[high]),
            str(low),
            float(rates[low]),
            int(sizes[high]),
            int(sizes[low]),
            (),
        )
        if best is None or candidate.value > best.value:
            best = candidate
    assert best is not None
    return Expected(**{**best.__dict__, "small_groups": tuple(sorted(small))})


def normal_interval(figure: Expected, z: float = 1.96) -> tuple[float, float]:
    """The Wald interval of the gap between the two extreme groups' rates."""
    high, low = figure.highest_rate, figure.lowest_rate
    error = np.sqrt(high * (1 - high) / figure.highest_n + low * (1 - low) / figure.lowest_n)
    return figure.value - z * error, figure.value + z * error
