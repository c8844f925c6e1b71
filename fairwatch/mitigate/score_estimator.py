"""The file's scores as a fitted scikit-learn classifier, for fairlearn's post-processing.

A module of its own so that scikit-learn is imported only when the fairlearn reference runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin


class ScoreEstimator(ClassifierMixin, BaseEstimator):
    """A fitted binary classifier whose ``predict_proba`` is the score in ``X[:, 0]``
    (``ThresholdOptimizer(prefit=True, predict_method="predict_proba")``)."""

    def fit(self, features: Any, labels: Any = None) -> ScoreEstimator:
        return self

    def predict_proba(self, features: Any) -> np.ndarray:
        score = np.asarray(features, dtype=np.float64)[:, 0]
        return np.column_stack((1.0 - score, score))

    def __sklearn_is_fitted__(self) -> bool:
        return True
