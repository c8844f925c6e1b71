"""The window counts of the pipeline: panes by model and input partition, the groups' rows, and
which windows changed since they were last evaluated.

Each event is counted once per group column (every sensitive attribute, and every configured
intersection) into the pane of each window specification it is in; every window containing a
changed pane is marked changed, and stays so until it is evaluated (:meth:`WindowCounts.evaluate`)
or can no longer change (:meth:`WindowCounts.retire`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from monitor.config import WindowSpec
from monitor.engine.counts import count_batch, row_width, widen
from monitor.engine.evaluate import EngineConfig, evaluate
from monitor.engine.groups import group_codes, intersection_name
from monitor.engine.results import WindowEvaluation
from monitor.stream.window import (
    GroupIndex,
    PaneCounts,
    PaneKey,
    WindowKey,
    counts_by_group,
    windows_of_pane,
)

_PARTITION_SPACE = 1 << 20  # partitions per topic are far fewer


def column_names(attributes: Sequence[str], intersections: Sequence[Sequence[str]]) -> list[str]:
    """The group columns an event is counted in: each attribute once, then each intersection
    (:func:`monitor.engine.groups.intersection_name`) not named already."""
    names = list(dict.fromkeys(attributes))
    for members in intersections:
        name = intersection_name(members)
        if name not in names:
            names.append(name)
    return names


def split_by_model(models: Sequence[str], rows: np.ndarray) -> dict[str, np.ndarray]:
    """``rows`` (one per entry of ``models``) by model, in order."""
    first = models[0]
    if all(model == first for model in models):
        return {first: rows}
    split: dict[str, list[int]] = {}
    for model, row in zip(models, rows.tolist(), strict=True):
        split.setdefault(model, []).append(row)
    return {model: np.asarray(members, dtype=np.int64) for model, members in split.items()}


class WindowCounts:
    """Counts events into the panes of every window specification and evaluates changed windows.

    Args:
        specs: the window specifications, in the order of the bits of an event's mask.
        attributes, intersections: the sensitive attributes and their configured intersections.
        score_bins: histogram bins of the counts rows.
        panes, group_indexes, changed: restored from a checkpoint (panes of specifications no
            longer configured are dropped, the others widened to the current row layout).
    """

    def __init__(
        self,
        specs: Sequence[WindowSpec],
        attributes: Sequence[str],
        intersections: Sequence[Sequence[str]],
        score_bins: int,
        panes: Mapping[PaneKey, np.ndarray],
        group_indexes: dict[str, GroupIndex],
        changed: Iterable[WindowKey],
    ) -> None:
        self.specs = list(specs)
        self.spec_by_name = {spec.name: spec for spec in self.specs}
        self.attributes = list(attributes)
        self.intersections = [list(members) for members in intersections]
        self.score_bins = score_bins
        self.columns = column_names(self.attributes, self.intersections)
        self.panes = PaneCounts(row_width(score_bins))
        for key, matrix in panes.items():
            if key[0] in self.spec_by_name:  # panes of an earlier layout are widened
                self.panes.load(key, widen(matrix, score_bins))
        self.group_indexes = group_indexes
        self.partitions: set[int] = {key[3] for key in self.panes}
        # windows whose counts changed since they were last evaluated
        self.changed: set[WindowKey] = {key for key in changed if key[0] in self.spec_by_name}

    def group_rows(
        self, model: str, sensitive: Mapping[str, Sequence[str]], count: int
    ) -> np.ndarray:
        """The row of each event's group in each group column (int32, one row per event):
        ``sensitive`` holds the values of ``count`` events of ``model`` by attribute. A group
        not seen before gets a new row."""
        groups = np.zeros((count, len(self.columns)), dtype=np.int32)
        index = self.group_indexes.setdefault(model, GroupIndex())
        for column, (attribute, codes, names) in enumerate(
            group_codes(sensitive, self.attributes, self.intersections)
        ):
            groups[:, column] = index.rows(attribute, names)[codes]
        return groups

    def count(
        self,
        model: str,
        groups: np.ndarray,
        timestamps: np.ndarray,
        partitions: np.ndarray,
        decisions: np.ndarray,
        scores: np.ndarray,
        labels: np.ndarray,
        specs: np.ndarray,
        *,
        count_n: bool,
    ) -> None:
        """Add rows (each counted once per group column) to the panes of every spec they are in
        (bit ``i`` of ``specs`` for ``self.specs[i]``); ``count_n`` false counts a label for an
        event counted before (its confusion counts only)."""
        n_groups = len(self.group_indexes[model])
        columns = groups.shape[1]
        for bit, spec in enumerate(self.specs):
            selected = np.flatnonzero((specs >> bit) & 1)
            if not selected.size:
                continue
            pane_numbers = np.floor(timestamps[selected] / spec.step).astype(np.int64)
            keys = pane_numbers * _PARTITION_SPACE + partitions[selected]
            unique_keys, inverse = np.unique(keys, return_inverse=True)
            inverse = inverse.reshape(-1)
            unique = [
                (float(key // _PARTITION_SPACE) * spec.step, int(key % _PARTITION_SPACE))
                for key in unique_keys.tolist()
            ]
            flat_index = (inverse[:, None] * n_groups + groups[selected]).reshape(-1)
            matrix = count_batch(
                flat_index,
                len(unique) * n_groups,
                np.repeat(decisions[selected], columns),
                np.repeat(labels[selected], columns),
                score=np.repeat(scores[selected], columns),
                count_n=None if count_n else np.zeros(selected.size * columns, dtype=bool),
                score_bins=self.score_bins,
            ).reshape(len(unique), n_groups, -1)
            for position, (start, partition_id) in enumerate(unique):
                self.partitions.add(partition_id)
                self.panes.add((spec.name, model, start, partition_id), matrix[position])
                for window_start in windows_of_pane(spec, start):
                    self.changed.add((spec.name, model, window_start))

    def set_row(
        self,
        model: str,
        specs: Sequence[WindowSpec],
        pane_start: float,
        attribute: str,
        group: str,
        row: np.ndarray,
    ) -> bool:
        """Make ``row`` the counts of ``(attribute, group)`` in the pane of each of ``specs``
        starting at ``pane_start`` (partition 0: counts read from a counting tier, which merged
        the input partitions); returns whether any pane changed. Its windows are marked
        changed."""
        index = self.group_indexes.setdefault(model, GroupIndex())
        position = index.row((attribute, group))
        changed = False
        for spec in specs:
            key = (spec.name, model, pane_start, 0)
            current = self.panes.matrix(key)
            delta = np.zeros((position + 1, self.panes.width), dtype=np.int64)
            delta[position] = row
            if current is not None and current.shape[0] > position:
                delta[position] -= current[position]
            if not delta[position].any():
                continue
            changed = True
            self.partitions.add(0)
            self.panes.add(key, delta)
            for window_start in windows_of_pane(spec, pane_start):
                self.changed.add((spec.name, model, window_start))
        return changed

    def evaluate(
        self, windows: Iterable[WindowKey], engine_config: EngineConfig
    ) -> list[WindowEvaluation]:
        """Evaluate ``windows`` in the order given (a window without counts is left out)."""
        partitions = sorted(self.partitions)
        evaluations: list[WindowEvaluation] = []
        for spec_name, model, window_start in windows:
            spec = self.spec_by_name[spec_name]
            index = self.group_indexes.get(model)
            matrix = self.panes.window(spec, model, window_start, partitions)
            if matrix is None or index is None:
                continue
            evaluations.append(
                evaluate(
                    model,
                    spec_name,
                    window_start,
                    window_start + spec.size,
                    counts_by_group(matrix, index),
                    engine_config,
                )
            )
        return evaluations

    def window_end(self, key: WindowKey) -> float:
        """When the window ``key`` ends."""
        spec_name, _model, window_start = key
        return window_start + self.spec_by_name[spec_name].size

    def retire(self, before: float) -> None:
        """Drop the panes that end before ``before`` (nothing can change them any more), and
        the windows made of them from the changed ones."""
        for spec in self.specs:
            if self.panes.retire(spec, before):
                self.changed = {
                    key
                    for key in self.changed
                    if key[0] != spec.name or key[2] + spec.size >= before
                }
