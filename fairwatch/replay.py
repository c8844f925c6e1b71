"""Recorded events replayed through the monitor on event time: a simulated clock and a source.

The daemon (:class:`monitor.stream.daemon.Daemon`, built by :func:`fairwatch.app.build_daemon`
exactly
as for ``fairwatch run``) reads its clock to decide when to evaluate, write and checkpoint, and
hands ``now`` to the alert manager. In a replay (``fairwatch demo``, ``fairwatch backtest``) that
clock is :class:`SimulatedTime`: the arrival time of the events replayed so far. Alert times and
``group_wait`` are then in the stream's own time, a month of events replays in seconds, and a run
is exactly reproducible. As the clock advances it runs the alert manager's timers (``tick``)
every ``tick_every`` simulated seconds (it is the manager's ticker,
:class:`alerting.tickers.ManualTicker`), as the scheduler thread does in wall time in the daemon.

:class:`ReplaySource` hands the records out in arrival order, like one consumer reading one
partition per topic. A record's arrival is its event time (a prediction's ``timestamp``; a
label's ``timestamp`` says when its outcome became known); a record without one arrives when it
is read, and the clock is the running maximum of the arrivals read. Each poll ends where a window
closes (:class:`Cadence`), so that the daemon, which cycles after every poll of a replay, judges
each window as soon as the event that closes it has been read, as it would in production.
"""

from __future__ import annotations

import bisect
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from alerting.tickers import ManualTicker
from monitor.config import MonitorConfig
from monitor.stream.decode import BatchDecoder, DecodedBatch, Record, RecordRun
from monitor.types import TopicPartition

#: A replay's clock: event time, moved by the source as it reads; it is also the alert manager's
#: ticker (``tick`` every ``tick_every`` simulated seconds as it passes them).
SimulatedTime = ManualTicker


@dataclass(frozen=True)
class Cadence:
    """The moments windows close: ``offset`` past every multiple of ``every`` seconds."""

    every: float
    offset: float = 0.0

    def next_after(self, moment: float) -> float:
        """The first of these moments strictly after ``moment``."""
        steps = math.floor((moment - self.offset) / self.every) + 1
        return self.offset + steps * self.every

    @classmethod
    def of(cls, config: MonitorConfig) -> Cadence:
        """When the windows of ``config`` close for the alert rules: a window ending at ``end``
        (a multiple of its step) closes once event time reaches ``end + allowed_lateness``, and
        is judged ``pipeline.alert_delay`` later."""
        every = _common_step([spec.step for spec in config.windows])
        delay = config.allowed_lateness + config.pipeline.alert_delay
        return cls(every, delay % every)


def _common_step(steps: Sequence[float]) -> float:
    """The longest interval every step is a whole multiple of (whole seconds, at least 1s)."""
    common = 0
    for step in steps:
        common = math.gcd(common, max(1, round(step)))
    return float(max(common, 1))


@dataclass
class Progress:
    """Where a replay is, handed to a display after each poll."""

    now: float
    events: int
    total_events: int
    predictions: int
    labels: int
    wall_seconds: float
    lines: list[str] = field(default_factory=list)
    done: bool = False
    evaluations: int = 0  # filled in by whoever knows the pipeline
    delivered: int = 0


@dataclass
class RecordedEvents:
    """Recorded messages in arrival order, in columns: each one's topic, key and value, and its
    arrival time (NaN: it has none of its own and arrives when it is read)."""

    topics: list[str]
    keys: list[bytes | None]
    values: list[bytes | None]
    arrivals: np.ndarray

    def __len__(self) -> int:
        return len(self.values)

    @classmethod
    def of(cls, records: Sequence[Record], arrivals: Sequence[float]) -> RecordedEvents:
        """From records (their offsets are not kept: a replay numbers each topic from 0)."""
        return cls(
            [record.topic for record in records],
            [record.key for record in records],
            [record.value for record in records],
            np.asarray(arrivals, dtype=np.float64),
        )


def arrival_moments(arrivals: Sequence[float] | np.ndarray) -> np.ndarray:
    """The clock after each record: the running maximum of the arrivals (NaN: the record has no
    time of its own and arrives when it is read; leading ones arrive with the first timed one)."""
    times = np.asarray(arrivals, dtype=np.float64)
    if not len(times):
        return times
    moments = np.fmax.accumulate(times)
    finite = np.flatnonzero(np.isfinite(moments))
    return np.where(np.isnan(moments), moments[finite[0]] if len(finite) else 0.0, moments)


class ReplaySource:
    """A :class:`monitor.types.Source` that hands recorded events out in arrival order, one
    partition per topic, and moves the clock.

    Each poll returns the records up to and including the first prediction whose event time
    reaches the next moment of ``cadence`` (it moves the watermark past a window end; at most
    the ``max_records`` asked for, and with ``speed`` at most a tenth of a second's worth, after
    waiting in wall time until they are due), then advances ``clock`` to the arrival of the last
    one. A
    record arriving after a gap in the stream (more than a cadence step past that moment) is
    left to the next poll, which returns nothing but moves the clock to its arrival, so that
    the daemon's clock reads its arrival when it checks whether it is ahead of time. For the
    same reason a poll hands out no record arriving more than ``horizon`` past the clock at its
    start (``pipeline.max_clock_skew``: the daemon checks a prediction against the clock of its
    last cycle, which is that clock): with long windows (a day) a poll would otherwise span
    more than the skew allowed, and its last predictions would be refused as ahead of time.

    The daemon takes the records already decoded (:meth:`poll_decoded`, with the decoder it
    hands over, as from the consumer process of ``fairwatch run``): no record object is made for
    a message.
    """

    def __init__(
        self,
        events: RecordedEvents,
        clock: SimulatedTime,
        cadence: Cadence,
        *,
        predictions_topic: str = "predictions",
        labels_topic: str = "labels",
        speed: float | None = None,
        horizon: float = math.inf,
        on_progress: Callable[[Progress], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        wall: Callable[[], float] = time.monotonic,
    ) -> None:
        self.events = events
        self.clock = clock
        self.cadence = cadence
        self.predictions_topic = predictions_topic
        self.labels_topic = labels_topic
        self.speed = speed
        self.horizon = horizon
        self.on_progress = on_progress
        self._sleep = sleep
        self._wall = wall
        count = len(events)
        self.moments: list[float] = arrival_moments(events.arrivals).tolist()
        self._predictions = np.fromiter(
            (topic == predictions_topic for topic in events.topics), bool, count
        )
        # each record's offset in its topic's partition
        self._total_predictions = int(self._predictions.sum())
        self._partitions: set[TopicPartition] = set()
        if self._total_predictions:
            self._partitions.add((predictions_topic, 0))
        if self._total_predictions < count:
            self._partitions.add((labels_topic, 0))
        offsets = np.empty(count, dtype=np.int64)
        offsets[self._predictions] = np.arange(self._total_predictions)
        offsets[~self._predictions] = np.arange(count - self._total_predictions)
        self._offsets: list[int] = offsets.tolist()
        # the event time of the predictions read so far, after each record (what closes windows)
        times = np.where(self._predictions, np.asarray(events.arrivals, np.float64), np.nan)
        progress = np.fmax.accumulate(times) if count else times
        self._progress: list[float] = np.nan_to_num(progress, nan=-math.inf).tolist()
        timed = np.flatnonzero(np.isfinite(progress))
        self._first_event_time = float(progress[timed[0]]) if len(timed) else math.inf
        self._started: float | None = None
        self._cursor = 0
        self._paused = False
        self._positions: dict[TopicPartition, int] = {}
        self.committed: dict[TopicPartition, int] = {}
        self.predictions = 0
        self.labels = 0

    # -- the Source protocol -------------------------------------------------------------------

    def start(self, positions: Mapping[TopicPartition, int]) -> None:
        self._positions = {key: offset for key, offset in positions.items() if offset > 0}

    def poll(self, max_records: int, timeout: float) -> list[Record]:
        """The next records (the daemon uses :meth:`poll_decoded`)."""
        return [
            Record(topic, 0, offset, key, value)
            for topic, _partition, offsets, keys, values in self._next_runs(max_records)
            for offset, key, value in zip(offsets, keys, values, strict=True)
        ]

    def poll_decoded(
        self, max_records: int, timeout: float, decoder: BatchDecoder
    ) -> DecodedBatch | None:
        """The next records, decoded (``None`` when there are none this time)."""
        runs = self._next_runs(max_records)
        if not runs:
            return None
        return decoder.runs(runs)

    def commit(self, positions: Mapping[TopicPartition, int]) -> None:
        self.committed.update(positions)

    def pause(self) -> None:
        self._paused = True

    def resume(self) -> None:
        self._paused = False

    def lag(self, positions: Mapping[TopicPartition, int]) -> dict[TopicPartition, int]:
        left = {
            (self.predictions_topic, 0): self._total_predictions - self.predictions,
            (self.labels_topic, 0): len(self.events) - self._total_predictions - self.labels,
        }
        return {key: count for key, count in left.items() if key in self._partitions}

    def partitions(self) -> set[TopicPartition]:
        return set(self._partitions)

    def is_ready(self) -> bool:
        return True

    def is_idle(self) -> bool:
        return self._cursor >= len(self.events)

    def interrupt(self) -> None:
        """Nothing to interrupt: starting never waits."""

    def close(self, timeout: float = 0.0) -> None:
        """Nothing to release."""

    # -- replay --------------------------------------------------------------------------------

    def _next_runs(self, max_records: int) -> list[RecordRun]:
        """The next slice of records, one run per topic (see the class docstring)."""
        if self._paused or self.is_idle():
            return []
        if self._started is None:
            self._started = self._wall()
        cursor = self._cursor
        moments = self.moments
        reach = self.clock.now + min(self.cadence.every, self.horizon)
        if moments[cursor] > reach:
            self.clock.advance(moments[cursor])  # a gap: the clock reaches the next arrival
            self.report([])
            return []
        event_time = self._progress[cursor - 1] if cursor else -math.inf
        boundary = (
            self.cadence.next_after(event_time)
            if math.isfinite(event_time)
            else self._first_event_time
        )
        upto = bisect.bisect_left(self._progress, boundary, lo=cursor) + 1
        # nothing arriving a step past the boundary: that one follows a gap (the next poll)
        within = bisect.bisect_right(moments, boundary + self.cadence.every, lo=cursor + 1)
        # nothing further past the clock than the daemon's check of event times allows
        ahead = bisect.bisect_right(moments, self.clock.now + self.horizon, lo=cursor + 1)
        upto = min(upto, within, ahead, cursor + max(1, max_records))
        if self.speed is not None:
            upto = min(upto, cursor + max(1, int(self.speed / 10)))
            wait = self._started + upto / self.speed - self._wall()
            if wait > 0:
                self._sleep(wait)
        self._cursor = upto
        chosen = self._predictions[cursor:upto]
        indexes = np.arange(cursor, upto)
        runs: list[RecordRun] = []
        for topic, members in (
            (self.predictions_topic, indexes[chosen]),
            (self.labels_topic, indexes[~chosen]),
        ):
            rows = members.tolist()
            if topic == self.predictions_topic:
                self.predictions += len(rows)
            else:
                self.labels += len(rows)
            floor = self._positions.get((topic, 0))
            if floor is not None:  # resumed: what is before the restored position was counted
                rows = [row for row in rows if self._offsets[row] >= floor]
            if rows:
                runs.append(
                    (
                        topic,
                        0,
                        [self._offsets[row] for row in rows],
                        [self.events.keys[row] for row in rows],
                        [self.events.values[row] for row in rows],
                    )
                )
        self.clock.advance(moments[upto - 1])
        self.report([])
        return runs

    # -- progress ------------------------------------------------------------------------------

    def report(self, lines: list[str], done: bool = False) -> None:
        if self.on_progress is None:
            return
        started = self._started if self._started is not None else self._wall()
        self.on_progress(
            Progress(
                now=self.clock.now,
                events=self._cursor,
                total_events=len(self.events),
                predictions=self.predictions,
                labels=self.labels,
                wall_seconds=self._wall() - started,
                lines=lines,
                done=done,
            )
        )
