"""``fairwatch mitigate`` and the advice of an alert share one search: on a window's rows with each
score replaced by its bin's lower edge (what the window's histograms know of them), the command's
thresholds make the same decisions as the advice's, with the same accuracy and disparity."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from monitor.engine.advice import Advice, Target, advise
from monitor.engine.config import EngineConfig
from monitor.engine.counts import bin_edges, score_bin
from tests.monitor.engine.advice_windows import GROUPS, scored_rows, window_of

CONFIG = EngineConfig(bootstrap_samples=100)


def binned_file(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    rows = scored_rows(seed=2)
    edges = bin_edges(CONFIG.score_bins)
    frame = pd.DataFrame(
        {
            "group": np.array(GROUPS)[rows.codes],
            "score": edges[score_bin(rows.score, CONFIG.score_bins)],
            "label": pd.array(np.where(rows.label < 0, None, rows.label), dtype="Int64"),
        }
    )
    path = tmp_path / "binned.csv"
    frame.to_csv(path, index=False)
    return path, frame


def decisions(frame: pd.DataFrame, thresholds: dict[str, float | None]) -> np.ndarray:
    """``score >= threshold`` per row (a group without a threshold: decided at 0.5, as the
    window's rows were)."""
    row_thresholds = frame["group"].map(lambda name: thresholds.get(name) or 0.5)
    return (frame["score"].to_numpy() >= row_thresholds.to_numpy(dtype=float)).astype(int)


@pytest.mark.parametrize(
    ("constraint", "metric", "tolerance"),
    [
        ("demographic_parity", "demographic_parity_difference", 0.08),
        ("equalized_odds", "equalized_odds_difference", 0.05),
        ("equal_opportunity", "equal_opportunity_difference", 0.02),
    ],
)
def test_the_command_on_the_binned_rows_agrees_with_the_advice(
    tmp_path: Path,
    mitigate_json: Callable[..., dict[str, Any]],
    constraint: str,
    metric: str,
    tolerance: float,
) -> None:
    path, frame = binned_file(tmp_path)
    window = window_of(scored_rows(seed=2), CONFIG)
    advice = advise(window, "group", metric, Target("<=", tolerance), CONFIG)
    assert isinstance(advice, Advice) and advice.meets_target

    report = mitigate_json(
        path, "--sensitive", "group", "--constraint", constraint, "--tolerance", tolerance,
        "--no-reference",
    )  # fmt: skip

    after = report["after"]
    assert after["accuracy"] == advice.after.accuracy
    assert after["disparity"] == advice.after.value
    assert report["before"]["disparity"] == advice.before.value
    command = {name: float(value) for name, value in after["thresholds"].items()}
    np.testing.assert_array_equal(decisions(frame, command), decisions(frame, advice.thresholds))
