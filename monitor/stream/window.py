"""Event-time windows of counts: panes, tumbling and sliding windows, the watermark.

Windows know about time and counts, not about fairness (STYLE.md lesson 4). Counts are kept per
*pane*: a slice of event time one step long. A window of a specification ``size/step`` starts on a
multiple of ``step`` and is the sum of ``size / step`` consecutive panes, so an event is counted
once per specification however many sliding windows contain it. A tumbling window is the case
``step == size`` (one pane per window).

The watermark (:class:`Watermark`) is the event time reached by every input partition that is
not idle, minus the allowed lateness. A window is *closed* once its end is at or before the
watermark. A prediction whose windows are closed is still added to them while their panes are
kept (a *late* prediction revises them, as a late label does); the label horizon decides how long
panes are kept.

Each pane holds one counts matrix per input partition (rows: the model's groups, see
:class:`GroupIndex`; columns: :func:`monitor.engine.counts.row_width`), so the counts of several
consumer instances can later be merged by addition.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence

import numpy as np

from monitor.config import WindowSpec
from monitor.engine.counts import GroupCounts

PaneKey = tuple[str, str, float, int]  # (window spec name, model, pane start, partition)
WindowKey = tuple[str, str, float]  # (window spec name, model, window start)


class GroupIndex:
    """Stable row numbers of one model's ``(attribute, group)`` pairs in its counts matrices."""

    def __init__(self, keys: Iterable[tuple[str, str]] = ()) -> None:
        self.keys: list[tuple[str, str]] = []
        self._rows: dict[tuple[str, str], int] = {}
        for key in keys:
            self.row(key)

    def __len__(self) -> int:
        return len(self.keys)

    def row(self, key: tuple[str, str]) -> int:
        """The row of ``key``, appending it when new."""
        found = self._rows.get(key)
        if found is None:
            found = len(self.keys)
            self._rows[key] = found
            self.keys.append(key)
        return found

    def rows(self, attribute: str, names: Sequence[str]) -> np.ndarray:
        """Rows of the groups ``names`` of ``attribute``, as a lookup array by local code."""
        return np.fromiter(
            (self.row((attribute, name)) for name in names), dtype=np.int32, count=len(names)
        )


def pane_starts(timestamps: np.ndarray, step: float) -> np.ndarray:
    """Start of the pane holding each event time."""
    return np.floor(timestamps / step) * step


def windows_of_pane(spec: WindowSpec, pane_start: float) -> list[float]:
    """Starts of every window of ``spec`` that contains the pane starting at ``pane_start``."""
    count = round(spec.size / spec.step)
    return [pane_start - index * spec.step for index in range(count)]


def panes_of_window(spec: WindowSpec, window_start: float) -> list[float]:
    """Starts of the panes making up the window starting at ``window_start``."""
    count = round(spec.size / spec.step)
    return [window_start + index * spec.step for index in range(count)]


class Watermark:
    """Event-time progress per input partition, and the watermark that closes windows.

    Each prediction partition's progress is the largest event time read from it. The instance's
    *event time* is the minimum over the partitions it owns that are not idle: a partition read
    behind the others (a backlog, a restart, one partition produced ahead) holds the others back
    instead of seeing its in-order events called late. A partition is *idle* once no record came
    from it for ``idle_timeout`` seconds of wall time (``now``, passed in by the daemon) while the
    source knows of no record left to read in it; it then stops holding the others back until its
    next record. When every owned partition is idle, nothing is left to read anywhere and the
    event time is the largest progress. The event time never moves back.

    The *watermark* is the event time minus ``allowed_lateness``; a window is closed once its end
    is at or before it.
    """

    def __init__(self, allowed_lateness: float, idle_timeout: float = math.inf) -> None:
        self.allowed_lateness = allowed_lateness
        self.idle_timeout = idle_timeout
        self.progress: dict[int, float] = {}  # largest event time read, per partition
        self.owned: set[int] = set()
        self.idle: set[int] = set()
        self.became_idle = 0  # times a partition was declared idle (a counter)
        self.event_time = -math.inf
        self._last_record: dict[int, float] = {}
        self._now = -math.inf

    @property
    def value(self) -> float:
        return self.event_time - self.allowed_lateness

    @property
    def now(self) -> float:
        """The wall clock of the last :meth:`tick` (``+inf`` before the first: no event is
        ahead of a clock not known yet)."""
        return self._now if math.isfinite(self._now) else math.inf

    @property
    def max_event_time(self) -> float:
        """The largest event time read from any partition."""
        return max(self.progress.values(), default=-math.inf)

    def own(self, partitions: Iterable[int]) -> None:
        """Partitions this instance reads (each holds the event time back until it is idle)."""
        for partition in partitions:
            if partition not in self.owned:
                self.owned.add(partition)
                self._touch(partition)
        self._recompute()

    def restore(self, progress: Mapping[int, float], event_time: float) -> None:
        """The progress and event time of the last checkpoint."""
        self.progress.update(progress)
        self.event_time = max(self.event_time, event_time)
        self.own(progress)

    def advance(self, timestamps: np.ndarray, partitions: np.ndarray | None = None) -> None:
        """Events read: move each partition's progress (``partitions`` aligned with
        ``timestamps``; without it, partition 0)."""
        if not timestamps.size:
            return
        if partitions is None:
            partitions = np.zeros(timestamps.size, dtype=np.int64)
        first = int(partitions[0])
        if bool((partitions == first).all()):
            latest = {first: float(timestamps.max())}
        else:
            order = np.argsort(partitions, kind="stable")
            keys, starts = np.unique(partitions[order], return_index=True)
            maxima = np.maximum.reduceat(timestamps[order], starts)
            latest = dict(zip(keys.tolist(), maxima.tolist(), strict=True))
        for partition, time in latest.items():
            self.owned.add(partition)
            self.idle.discard(partition)
            self._touch(partition)
            if time > self.progress.get(partition, -math.inf):
                self.progress[partition] = time
        self._recompute()

    def tick(self, now: float, behind: Iterable[int] = ()) -> None:
        """The wall clock moved to ``now``; ``behind`` are partitions with records left to read.

        Partitions silent for ``idle_timeout`` and not behind become idle."""
        self._now = now
        waiting = set(behind)
        for partition in self.owned:
            last = self._last_record.setdefault(partition, now)
            if partition in waiting:  # records left to read: not idle, whatever the silence
                self._last_record[partition] = now
                self.idle.discard(partition)
            elif partition not in self.idle and now - last >= self.idle_timeout:
                self.idle.add(partition)
                self.became_idle += 1
        self._recompute()

    def _touch(self, partition: int) -> None:
        if math.isfinite(self._now):
            self._last_record[partition] = self._now
        else:  # before the first tick: the first tick starts its silence
            self._last_record.pop(partition, None)

    def _recompute(self) -> None:
        active = self.owned - self.idle
        if active:
            candidate = min(self.progress.get(partition, -math.inf) for partition in active)
        else:
            candidate = self.max_event_time
        if candidate > self.event_time:
            self.event_time = candidate

    def late(self, spec: WindowSpec, timestamps: np.ndarray) -> np.ndarray:
        """True where every window of ``spec`` holding the event is already closed."""
        last_window_end = pane_starts(timestamps, spec.step) + spec.size
        return last_window_end <= self.value


class PaneCounts:
    """The counts of every live pane, with the panes and windows changed since last asked."""

    def __init__(self, width: int) -> None:
        self.width = width
        self._panes: dict[PaneKey, np.ndarray] = {}
        self.dirty_panes: set[PaneKey] = set()
        self.removed_panes: set[PaneKey] = set()
        # start of the oldest pane per spec: retire() looks at the panes only when some are due
        self._oldest: dict[str, float] = {}

    def __len__(self) -> int:
        return len(self._panes)

    def __iter__(self) -> Iterator[PaneKey]:
        return iter(self._panes)

    def matrix(self, key: PaneKey) -> np.ndarray | None:
        return self._panes.get(key)

    def load(self, key: PaneKey, matrix: np.ndarray) -> None:
        """Restore a pane from the checkpoint (not marked dirty)."""
        self._panes[key] = matrix
        self._note_start(key)

    def add(self, key: PaneKey, matrix: np.ndarray) -> None:
        """Add a ``groups × width`` counts matrix to a pane (rows past the pane's are appended)."""
        current = self._panes.get(key)
        if current is None:
            current = np.zeros((matrix.shape[0], self.width), dtype=np.int64)
        elif current.shape[0] < matrix.shape[0]:
            current = _grow(current, matrix.shape[0])
        rows = matrix.shape[0]
        current[:rows, : matrix.shape[1]] += matrix
        self._panes[key] = current
        self.dirty_panes.add(key)
        self._note_start(key)

    def _note_start(self, key: PaneKey) -> None:
        if key[2] < self._oldest.get(key[0], math.inf):
            self._oldest[key[0]] = key[2]

    def window(
        self, spec: WindowSpec, model: str, window_start: float, partitions: Iterable[int]
    ) -> np.ndarray | None:
        """Sum of the window's panes over ``partitions`` (``None`` when nothing was counted)."""
        total: np.ndarray | None = None
        for pane in panes_of_window(spec, window_start):
            for partition in partitions:
                matrix = self._panes.get((spec.name, model, pane, partition))
                if matrix is None:
                    continue
                if total is None:
                    total = matrix.copy()
                    continue
                if total.shape[0] < matrix.shape[0]:
                    total = _grow(total, matrix.shape[0])
                total[: matrix.shape[0]] += matrix
        return total

    def retire(self, spec: WindowSpec, before: float) -> int:
        """Drop the panes of ``spec`` whose last window ended before ``before``."""
        oldest = self._oldest.get(spec.name)
        if oldest is None or oldest + spec.size >= before:
            return 0  # none is due (checked once per checkpoint: no scan of every pane)
        gone = [key for key in self._panes if key[0] == spec.name and key[2] + spec.size < before]
        for key in gone:
            del self._panes[key]
            self.dirty_panes.discard(key)
            self.removed_panes.add(key)
        starts = [key[2] for key in self._panes if key[0] == spec.name]
        if starts:
            self._oldest[spec.name] = min(starts)
        else:
            self._oldest.pop(spec.name, None)
        return len(gone)


def _grow(matrix: np.ndarray, rows: int) -> np.ndarray:
    grown = np.zeros((rows, matrix.shape[1]), dtype=np.int64)
    grown[: matrix.shape[0]] = matrix
    return grown


def counts_by_group(matrix: np.ndarray, index: GroupIndex) -> dict[tuple[str, str], GroupCounts]:
    """The engine's input: ``(attribute, group) → GroupCounts`` for every non-empty row, in
    the order of the keys (not of the rows, which follow arrival: the same counts give the same
    evaluation, its seeded random draws included, whichever group came first)."""
    nonempty = np.flatnonzero(matrix.any(axis=1)).tolist()
    keys = index.keys
    return {
        keys[row]: GroupCounts.from_row(matrix[row])
        for row in sorted(nonempty, key=keys.__getitem__)
    }
