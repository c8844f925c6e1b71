"""The demo's traffic: prediction events over simulated days, delayed labels, an injected drift.

Test-split rows arrive in a random (seeded) order at Poisson times spread over ``days``. Each
becomes a prediction event (score and decision, sex and race as sensitive attributes); its label
follows as a separate label event after a log-normal delay (median
``label_delay_median_hours``); a small share never arrives (lost, or later than
``label_delay_max_hours``). Between ``drift_start`` and ``drift_end`` the decision
threshold of one group (by default ``sex=Female``) is raised to ``drift_threshold``, which cuts
that group's selection rate: the breach the monitor must catch, alert on and resolve.

Everything is a pure function of the settings and the seed, so a run can be reproduced exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
import pandas as pd

from fairwatch.demo.model import TrainedModel

Topic = Literal["predictions", "labels"]

DEFAULT_START = datetime(2026, 1, 5, tzinfo=UTC).timestamp()
HOUR = 3600.0
DAY = 86400.0


@dataclass(frozen=True)
class ScenarioSettings:
    """What traffic to simulate; the defaults are the full demo."""

    seed: int = 7
    model_id: str = "adult-income"
    rows: int | None = None  # None: every test row; else a seeded sample of that many
    start: float = DEFAULT_START  # epoch seconds of the first prediction
    days: float = 4.0
    drift_start_day: float = 1.6
    drift_end_day: float = 2.6
    drift_attribute: str = "sex"
    drift_group: str = "Female"
    drift_threshold: float = 0.65
    label_delay_median_hours: float = 8.0
    label_delay_sigma: float = 0.8
    label_delay_max_hours: float = 48.0  # later labels are treated as lost
    label_loss: float = 0.03  # share of predictions whose label never arrives

    @property
    def end(self) -> float:
        return self.start + self.days * DAY

    @property
    def drift_start(self) -> float:
        return self.start + self.drift_start_day * DAY

    @property
    def drift_end(self) -> float:
        return self.start + self.drift_end_day * DAY


@dataclass(frozen=True)
class StreamEvent:
    """One event as it reaches the monitor: when it arrives, on which topic, with which body."""

    arrival: float
    topic: Topic
    key: str
    body: dict[str, Any]


@dataclass
class Scenario:
    """The simulated traffic, ordered by arrival time, with the rows behind it."""

    settings: ScenarioSettings
    events: list[StreamEvent]
    rows: pd.DataFrame  # one row per prediction: id, time, score, decision, label, drifted, groups
    label_count: int = field(default=0)

    @property
    def prediction_count(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[StreamEvent]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self.events)


def iso(epoch_seconds: float) -> str:
    """RFC 3339 in UTC with millisecond precision, e.g. ``2026-01-05T00:00:01.250Z``."""
    moment = datetime.fromtimestamp(epoch_seconds, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def simulate(test_frame: pd.DataFrame, model: TrainedModel, settings: ScenarioSettings) -> Scenario:
    """Turn the test split into the stream of prediction and label events."""
    random = np.random.default_rng(settings.seed)
    frame = test_frame.reset_index(drop=True).rename_axis("row").reset_index()
    if settings.rows is not None and settings.rows < len(frame):
        frame = frame.sample(n=settings.rows, random_state=settings.seed)
    frame = frame.sample(frac=1.0, random_state=random.integers(2**31)).reset_index(drop=True)

    count = len(frame)
    times = np.sort(random.uniform(settings.start, settings.end, size=count))
    scores = model.scores(frame)
    thresholds = model.threshold_for(frame)
    in_drift = (times >= settings.drift_start) & (times < settings.drift_end)
    drifted = in_drift & (frame[settings.drift_attribute].to_numpy() == settings.drift_group)
    thresholds = np.where(drifted, np.maximum(thresholds, settings.drift_threshold), thresholds)
    decisions = scores >= thresholds

    delays = random.lognormal(
        mean=np.log(settings.label_delay_median_hours * HOUR),
        sigma=settings.label_delay_sigma,
        size=count,
    )
    labeled = (random.uniform(size=count) >= settings.label_loss) & (
        delays <= settings.label_delay_max_hours * HOUR
    )

    rows = pd.DataFrame(
        {
            "prediction_id": [f"adult-{row:05d}" for row in frame["row"]],
            "time": times,
            "score": scores,
            "threshold": thresholds,
            "decision": decisions.astype("int8"),
            "label": frame["label"].to_numpy(),
            "labeled": labeled,
            "label_time": np.where(labeled, times + delays, np.nan),
            "drifted": drifted,
            "sex": frame["sex"].to_numpy(),
            "race": frame["race"].to_numpy(),
        }
    )
    events = _events(rows, settings.model_id)
    return Scenario(settings, events, rows, label_count=int(labeled.sum()))


def _events(rows: pd.DataFrame, model_id: str) -> list[StreamEvent]:
    events: list[StreamEvent] = []
    for row in rows.itertuples(index=False):
        events.append(
            StreamEvent(
                arrival=float(row.time),
                topic="predictions",
                key=str(row.prediction_id),
                body={
                    "prediction_id": row.prediction_id,
                    "model_id": model_id,
                    "timestamp": iso(float(row.time)),
                    "score": round(float(row.score), 6),
                    "prediction": int(row.decision),
                    "sensitive": {"sex": str(row.sex), "race": str(row.race)},
                },
            )
        )
        if row.labeled:
            events.append(
                StreamEvent(
                    arrival=float(row.label_time),
                    topic="labels",
                    key=str(row.prediction_id),
                    body={
                        "prediction_id": row.prediction_id,
                        "label": int(row.label),
                        "timestamp": iso(float(row.label_time)),
                    },
                )
            )
    # Stable sort: a prediction and its label never share an arrival time (delays are > 0).
    events.sort(key=lambda event: event.arrival)
    return events
