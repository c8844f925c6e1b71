"""Synthetic windows of scored decisions with a disparity, for the tests of threshold advice.

``scored_rows`` draws rows of three groups (``A`` favoured by its scores, ``B``, and a small
``C`` below the engine's minimum group size), decided at 0.5, a share of them unlabeled;
``window_of`` counts them as the pipeline does and evaluates the window; ``recount`` applies
per-group thresholds to the rows themselves (a user applying the advice).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from monitor.engine.config import EngineConfig
from monitor.engine.counts import GroupCounts, count_batch
from monitor.engine.evaluate import evaluate
from monitor.engine.results import WindowEvaluation

GROUPS = ("A", "B", "C")


@dataclass(frozen=True)
class Rows:
    codes: np.ndarray
    score: np.ndarray
    label: np.ndarray  # 1, 0 or -1 (unlabeled)
    decision: np.ndarray


def scored_rows(rows: int = 6000, seed: int = 0, shift: float = 0.2) -> Rows:
    rng = np.random.default_rng(seed)
    codes = rng.choice(3, size=rows, p=[0.6, 0.396, 0.004])
    truth = (rng.random(rows) < np.where(codes == 0, 0.45, 0.35)).astype(np.int8)
    score = np.clip(0.3 * truth + shift * (codes == 0) + 0.55 * rng.random(rows), 0.0, 1.0)
    label = np.where(rng.random(rows) < 0.25, -1, truth).astype(np.int8)
    return Rows(codes, score, label, (score >= 0.5).astype(np.int8))


def counts_of(
    rows: Rows, decision: np.ndarray, bins: int, attribute: str = "group"
) -> dict[tuple[str, str], GroupCounts]:
    matrix = count_batch(rows.codes, 3, decision, rows.label, rows.score, score_bins=bins)
    return {
        (attribute, name): GroupCounts.from_row(matrix[index])
        for index, name in enumerate(GROUPS)
        if matrix[index, 0]
    }


def window_of(
    rows: Rows,
    config: EngineConfig,
    model_id: str = "m",
    attribute: str = "group",
    window_end: float = 3600.0,
) -> WindowEvaluation:
    """The window of ``rows`` (one hour ending at ``window_end``) as the engine evaluates it."""
    counts = counts_of(rows, rows.decision, config.score_bins, attribute)
    return evaluate(model_id, "1h", window_end - 3600.0, window_end, counts, config)


def recount(
    rows: Rows,
    thresholds: Mapping[str, float | None],
    config: EngineConfig,
    model_id: str = "m",
) -> WindowEvaluation:
    """The window with each group decided by ``score >= threshold`` (a group whose threshold is
    None keeps its decisions)."""
    decision = rows.decision.copy()
    for index, name in enumerate(GROUPS):
        threshold = thresholds.get(name)
        if threshold is not None:
            inside = rows.codes == index
            decision[inside] = rows.score[inside] >= threshold
    return evaluate(
        model_id, "1h", 0.0, 3600.0, counts_of(rows, decision, config.score_bins), config
    )
