"""Accepted events in columnar form, ready for vectorised counting: what the decoders return."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Predictions:
    """Accepted prediction events in columnar form (one entry per event, in record order).

    ``sensitive`` holds one column of group values per configured attribute; ``score`` is NaN
    where the event had none and ``label`` is -1 where it had none.
    """

    prediction_id: list[str] = field(default_factory=list)
    model_id: list[str] = field(default_factory=list)
    timestamp: np.ndarray = field(default_factory=lambda: np.empty(0))
    prediction: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    score: np.ndarray = field(default_factory=lambda: np.empty(0))
    label: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    sensitive: dict[str, list[str]] = field(default_factory=dict)
    partition: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    # index of each event's record in the decoded RecordColumns (to dead-letter it later)
    position: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.prediction_id)


@dataclass
class Labels:
    """Accepted label events (columnar); ``timestamp`` is NaN when the event had none."""

    prediction_id: list[str] = field(default_factory=list)
    label: list[int] = field(default_factory=list)
    timestamp: list[float] = field(default_factory=list)
    partition: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.prediction_id)
