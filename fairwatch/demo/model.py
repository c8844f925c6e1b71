"""The demo's model: logistic regression on the Adult features, with per-group decision thresholds.

The model does not see ``sex`` or ``race``. Its decisions are post-processed the way teams do to
meet demographic parity: each sex × race group gets its own score threshold, chosen on the
training split so that every group is selected at the same target rate. That is the fair baseline
the stream starts from; the scenario later shifts one group's threshold (the injected drift).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from fairwatch.demo.dataset import CATEGORICAL_COLUMNS, NUMERIC_COLUMNS, SENSITIVE_COLUMNS

# The share of each group the model selects (predicts >50K) on the training split.
TARGET_SELECTION_RATE = 0.25


@dataclass(frozen=True)
class TrainedModel:
    """A fitted scoring pipeline and its per-group thresholds (keyed by ``(sex, race)``)."""

    scorer: Pipeline
    thresholds: dict[tuple[str, str], float]
    default_threshold: float
    train_accuracy: float

    def scores(self, frame: pd.DataFrame) -> np.ndarray:
        """P(income > 50K) for each row."""
        probabilities: np.ndarray = self.scorer.predict_proba(frame)[:, 1]
        return probabilities

    def threshold_for(self, frame: pd.DataFrame) -> np.ndarray:
        """Each row's decision threshold (its sex × race group's)."""
        keys = zip(frame["sex"], frame["race"], strict=True)
        return np.array([self.thresholds.get(key, self.default_threshold) for key in keys])


def group_thresholds(
    scores: np.ndarray, groups: pd.DataFrame, target_rate: float
) -> dict[tuple[str, str], float]:
    """Per ``(sex, race)`` group, the score quantile above which ``target_rate`` of it lies."""
    thresholds: dict[tuple[str, str], float] = {}
    frame = groups.assign(score=scores)
    for key, part in frame.groupby(list(SENSITIVE_COLUMNS), sort=True):
        sex, race = key
        thresholds[(str(sex), str(race))] = float(np.quantile(part["score"], 1.0 - target_rate))
    return thresholds


def train(train_frame: pd.DataFrame, seed: int = 0) -> TrainedModel:
    """Fit the model on the training split (a second or two) and choose the group thresholds."""
    features = ColumnTransformer(
        [
            ("numeric", StandardScaler(), list(NUMERIC_COLUMNS)),
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", min_frequency=20),
                list(CATEGORICAL_COLUMNS),
            ),
        ]
    )
    scorer = Pipeline(
        [("features", features), ("model", LogisticRegression(max_iter=1000, random_state=seed))]
    )
    scorer.fit(train_frame, train_frame["label"])
    scores = scorer.predict_proba(train_frame)[:, 1]
    thresholds = group_thresholds(scores, train_frame, TARGET_SELECTION_RATE)
    default = float(np.quantile(scores, 1.0 - TARGET_SELECTION_RATE))
    model = TrainedModel(scorer, thresholds, default, 0.0)
    decisions = scores >= model.threshold_for(train_frame)
    accuracy = float(np.mean(decisions == train_frame["label"].to_numpy().astype(bool)))
    return TrainedModel(scorer, thresholds, default, accuracy)
