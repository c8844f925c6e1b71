"""The after-figures recomputed from a report's thresholds, without fairwatch.mitigate's code.

The file is read with pandas, each row's threshold looked up by its group's name, the decisions
``score >= threshold`` counted with the engine's ``count_batch`` and evaluated with
``evaluate``, as a user applying the thresholds would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd

from fairwatch.audit.render_json import disparity_dict, group_dict
from monitor.engine.counts import GroupCounts, count_batch
from monitor.engine.evaluate import EngineConfig, evaluate
from monitor.engine.results import WindowEvaluation


def read_scores(path: Path) -> pd.DataFrame:
    """The file as the command reads it (CSV floats parsed by pyarrow, as the command does)."""
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, engine="pyarrow")


def group_names(frame: pd.DataFrame, attribute: str) -> np.ndarray:
    """Each row's group: the attribute's value, or the intersection's values joined by ``&``
    in sorted attribute order (``race&sex`` → ``White&Male``)."""
    if "&" not in attribute:
        return frame[attribute].astype(str).to_numpy(dtype=object)
    parts = [frame[name].astype(str) for name in attribute.split("&")]
    joined = parts[0]
    for part in parts[1:]:
        joined = joined + "&" + part
    return joined.to_numpy(dtype=object)


def decisions(frame: pd.DataFrame, attribute: str, thresholds: dict[str, float]) -> np.ndarray:
    """``score >= threshold`` of each row's group (int8)."""
    names = group_names(frame, attribute)
    row_thresholds = np.array([thresholds[name] for name in names], dtype=np.float64)
    return (frame["score"].to_numpy(dtype=np.float64) >= row_thresholds).astype(np.int8)


def evaluate_decisions(
    frame: pd.DataFrame,
    attribute: str,
    prediction: np.ndarray,
    engine: EngineConfig,
    score_bins: int = 10,
) -> WindowEvaluation:
    names = group_names(frame, attribute)
    groups, codes = np.unique(names, return_inverse=True)
    label = frame["label"].to_numpy(dtype=np.int8)
    score = frame["score"].to_numpy(dtype=np.float64)
    matrix = count_batch(codes, len(groups), prediction, label, score, score_bins=score_bins)
    counts = {
        (attribute, str(group)): GroupCounts.from_row(matrix[index])
        for index, group in enumerate(groups)
    }
    return evaluate("mitigate", "all", 0.0, 0.0, counts, engine)


def engine_of(report: dict[str, Any]) -> EngineConfig:
    summary = report["summary"]
    return EngineConfig(
        min_group_size=summary["min_group_size"],
        ci_level=summary["ci_level"],
        thresholds={summary["metric"]: summary["tolerance"]},
    )


def as_json(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value))


def recomputed(path: Path, report: dict[str, Any], side: str = "after") -> dict[str, Any]:
    """The ``groups`` and ``disparities`` of a report's side, recomputed from its thresholds."""
    frame = read_scores(path)
    attribute = report["summary"]["attribute"]
    prediction = decisions(frame, attribute, report[side]["thresholds"])
    evaluation = evaluate_decisions(frame, attribute, prediction, engine_of(report))
    return as_json(
        {
            "groups": [group_dict(group) for group in evaluation.groups],
            "disparities": [disparity_dict(d) for d in evaluation.disparities],
        }
    )


def metric_value(report_side: dict[str, Any], attribute: str, metric: str) -> dict[str, Any]:
    (found,) = [
        d
        for d in report_side["disparities"]
        if d["attribute"] == attribute and d["metric"] == metric and d["group"] is None
    ]
    return found
