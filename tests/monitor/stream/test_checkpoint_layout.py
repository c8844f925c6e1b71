"""A checkpoint of an earlier layout still loads, and its counts keep adding up.

Counts rows held 6 + 2 × bins cells (no score-offset sums), then 6 + 3 × bins (no histogram of
scored predictions); they now hold 6 + 4 × bins. A state directory of an earlier layout is
emulated by cutting the later cells off every stored pane.
"""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from monitor.engine.counts import BASE_WIDTH, row_width
from monitor.engine.results import WindowEvaluation
from tests.monitor.stream.reference import evaluation_counts, make_events, records, reference_counts
from tests.monitor.stream.test_pipeline import make_config, open_pipeline

BINS = 10
HOUR = 3600.0


def legacy_checkpoint(state: Path, cells: int = 2) -> int:
    """Rewrite every pane of ``state`` in the layout of ``cells`` per bin (2: without score sums,
    3: without scored predictions); returns the panes."""
    connection = sqlite3.connect(state / "state.sqlite")
    panes = connection.execute("SELECT spec, model, pane_start, partition, rows, counts FROM panes")
    rewritten = []
    for spec, model, start, partition, rows, blob in panes.fetchall():
        matrix = np.frombuffer(blob, dtype=np.int64).reshape(rows, -1)
        assert matrix.shape[1] == row_width(BINS)
        legacy = np.ascontiguousarray(matrix[:, : BASE_WIDTH + cells * BINS])
        rewritten.append((legacy.tobytes(), spec, model, start, partition))
    connection.executemany(
        "UPDATE panes SET counts = ? WHERE spec = ? AND model = ? AND pane_start = ? "
        "AND partition = ?",
        rewritten,
    )
    connection.commit()
    connection.close()
    return len(rewritten)


def direct_bin_means(predictions, labels, start: float, end: float, sex: str) -> dict[int, float]:
    """Per score bin, the mean score of the labeled predictions of ``sex`` in ``[start, end)``."""
    label_of = {label["prediction_id"]: label["label"] for label in labels}
    scores: dict[int, list[float]] = {}
    for event in predictions:
        if not start <= event["timestamp"] < end or event["sensitive"]["sex"] != sex:
            continue
        if event["prediction_id"] in label_of:
            score = event["score"]
            scores.setdefault(min(int(score * BINS), BINS - 1), []).append(score)
    return {b: float(np.mean(values)) for b, values in scores.items()}


@pytest.mark.parametrize("cells", [2, 3])
def test_a_checkpoint_of_an_earlier_layout_loads_and_keeps_counting(
    tmp_path: Path, cells: int
) -> None:
    config = make_config(
        tmp_path, windows=["1h"], engine={"bootstrap_samples": 10, "score_bins": BINS}
    )
    predictions, labels = make_events(2000)  # about 3.9 hours, 70% labeled
    first_window = math.floor(predictions[0]["timestamp"] / HOUR) * HOUR
    cut = first_window + 2 * HOUR
    before = [e for e in predictions if e["timestamp"] < cut]
    after = [e for e in predictions if e["timestamp"] >= cut]
    ids_before = {e["prediction_id"] for e in before}
    labels_before = [label for label in labels if label["prediction_id"] in ids_before]
    labels_after = [label for label in labels if label["prediction_id"] not in ids_before]

    pipeline, _collector = open_pipeline(config)
    pipeline.process(records("predictions", before) + records("labels", labels_before))
    pipeline.evaluate(now=0.0)
    pipeline.checkpoint()  # windows handed but not confirmed written: evaluated again on restart
    pipeline.close()
    assert legacy_checkpoint(Path(config.state_dir), cells) > 0

    pipeline, collector = open_pipeline(config)
    for key in pipeline.panes:
        matrix = pipeline.panes.matrix(key)
        assert matrix is not None and matrix.shape[1] == row_width(BINS)
        # no sums: scores read as centres; no scored predictions
        assert not matrix[:, BASE_WIDTH + cells * BINS :].any()
    restored = pipeline.evaluate(now=1.0)
    assert {e.window_start for e in restored} == {first_window, first_window + HOUR}
    pipeline.process(
        records("predictions", after, first_offset=[len(before)])
        + records("labels", labels_after, first_offset=[len(labels_before)])
    )
    pipeline.evaluate(now=2.0)
    pipeline.close()

    evaluations = collector.evaluations
    # the counts add up across the two layouts: equal to the batch reference
    assert evaluation_counts(evaluations) == reference_counts(predictions, labels, config.windows)
    latest: dict[float, WindowEvaluation] = {e.window_start: e for e in evaluations}
    centres = (np.arange(BINS) + 0.5) / BINS
    for window_start, evaluation in latest.items():
        restored_window = window_start < cut
        for group in evaluation.groups:
            if group.attribute != "sex":
                continue
            direct = direct_bin_means(
                predictions, labels, window_start, window_start + HOUR, group.group
            )
            assert {b for b, item in enumerate(group.reliability) if item.n} == set(direct)
            for b, item in enumerate(group.reliability):
                if not item.n:
                    continue
                if restored_window and cells == 2:  # written without sums: the bin's centre
                    assert item.mean_score == pytest.approx(centres[b], abs=1e-12)
                else:  # with sums: the exact mean
                    assert item.mean_score == pytest.approx(direct[b], abs=1e-6)
            # scored predictions: none in the panes of the earlier layout
            assert group.score_histogram is not None
            scored = sum(group.score_histogram.predictions)
            assert scored == (0 if restored_window else group.n)


@pytest.mark.parametrize("cells", [2, 3])
def test_a_checkpoint_of_the_earlier_default_bins_loads_with_the_new_default(
    tmp_path: Path, cells: int
) -> None:
    """A state directory of the release whose default was 10 score bins, opened with today's
    default (50): the counts keep adding up, calibration (on 10 bins) is what it was, and the
    restored windows have no scored predictions (threshold advice declines them)."""
    # the first run sets the earlier default (10 bins) on purpose: it stands for the old release
    old = make_config(tmp_path, windows=["1h"], engine={"bootstrap_samples": 10, "score_bins": 10})
    new = make_config(tmp_path, windows=["1h"])
    assert new.engine.score_bins == 50 and new.engine.calibration_bins_in_use == BINS
    predictions, labels = make_events(2000)
    first_window = math.floor(predictions[0]["timestamp"] / HOUR) * HOUR
    cut = first_window + 2 * HOUR
    before = [e for e in predictions if e["timestamp"] < cut]
    after = [e for e in predictions if e["timestamp"] >= cut]
    ids_before = {e["prediction_id"] for e in before}
    labels_before = [label for label in labels if label["prediction_id"] in ids_before]
    labels_after = [label for label in labels if label["prediction_id"] not in ids_before]

    pipeline, _collector = open_pipeline(old)
    pipeline.process(records("predictions", before) + records("labels", labels_before))
    pipeline.evaluate(now=0.0)
    pipeline.checkpoint()
    pipeline.close()
    assert legacy_checkpoint(Path(old.state_dir), cells) > 0

    pipeline, collector = open_pipeline(new)
    pipeline.evaluate(now=1.0)
    pipeline.process(
        records("predictions", after, first_offset=[len(before)])
        + records("labels", labels_after, first_offset=[len(labels_before)])
    )
    pipeline.evaluate(now=2.0)
    pipeline.close()

    evaluations = collector.evaluations
    assert evaluation_counts(evaluations) == reference_counts(predictions, labels, new.windows)
    latest: dict[float, WindowEvaluation] = {e.window_start: e for e in evaluations}
    centres = (np.arange(BINS) + 0.5) / BINS
    for window_start, evaluation in latest.items():
        restored_window = window_start < cut
        for group in evaluation.groups:
            if group.attribute != "sex":
                continue
            direct = direct_bin_means(
                predictions, labels, window_start, window_start + HOUR, group.group
            )
            assert {b for b, item in enumerate(group.reliability) if item.n} == set(direct)
            for b, item in enumerate(group.reliability):
                if not item.n:
                    continue
                if restored_window and cells == 2:
                    assert item.mean_score == pytest.approx(centres[b], abs=1e-12)
                else:
                    assert item.mean_score == pytest.approx(direct[b], abs=1e-6)
            assert group.score_histogram is not None
            scored = sum(group.score_histogram.predictions)
            assert scored == (0 if restored_window else group.n)
