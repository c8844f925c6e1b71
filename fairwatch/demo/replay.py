"""The demo's embedded source and clock: events replayed from memory on event time.

The daemon (``monitor.daemon.Daemon``, built by ``fairwatch.app.build_daemon`` exactly as for
``fairwatch run``) reads the clock to decide when to evaluate, write and checkpoint, and hands
``now`` to the alert manager. In the demo that clock is :class:`SimulatedTime`: the arrival time
of the events replayed so far. Alert times, ``group_wait`` and the report's timeline are then all
in the stream's own time, a replay of days takes seconds, and a run is exactly reproducible. As
the clock advances it runs the alert manager's timers (``tick``) every ``tick_every`` simulated
seconds, as the manager's scheduler does in wall time in the daemon.

:class:`ReplaySource` hands the records out one slice of event time per poll; ``speed`` paces
it in wall time (events per second), ``None`` replays as fast as the pipeline goes.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import orjson

from fairwatch.demo.scenario import StreamEvent
from monitor.events import Record
from monitor.source import EmbeddedSource


def encode(events: Sequence[StreamEvent]) -> list[Record]:
    """The events as the records a Kafka consumer would hand over (one partition per topic)."""
    offsets = {"predictions": 0, "labels": 0}
    records = []
    for event in events:
        offset = offsets[event.topic]
        offsets[event.topic] = offset + 1
        records.append(Record(event.topic, 0, offset, event.key.encode(), orjson.dumps(event.body)))
    return records


class SimulatedTime:
    """A clock that moves only when told to, running ``on_tick(now)`` every ``tick_every``
    seconds it passes (the alert manager's ``tick``; it returns notifications delivered)."""

    def __init__(
        self, start: float, tick_every: float, on_tick: Callable[[float], int] | None = None
    ) -> None:
        self.now = start
        self.tick_every = tick_every
        self.on_tick = on_tick
        self.delivered = 0
        self._next_tick = start

    def __call__(self) -> float:
        return self.now

    def advance(self, moment: float) -> None:
        """Move to ``moment`` (never backwards), ticking on the way."""
        if moment <= self.now:
            return
        while self._next_tick <= moment:
            if self.on_tick is not None:
                self.delivered += self.on_tick(self._next_tick)
            self._next_tick += self.tick_every
        self.now = moment


@dataclass
class Progress:
    """Where the replay is, handed to the display after each poll."""

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


class ReplaySource(EmbeddedSource):
    """An embedded source that releases the records in event-time slices and moves the clock.

    Each poll returns the records arriving within the next ``slice_seconds`` of event time (at
    most ``max_records``, and with ``speed`` at most a tenth of a second's worth), after waiting
    in wall time until they are due, then advances ``clock`` to the end of what it returned.
    """

    def __init__(
        self,
        events: Sequence[StreamEvent],
        clock: SimulatedTime,
        *,
        slice_seconds: float,
        speed: float | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        wall: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(encode(events))
        self.arrivals = [event.arrival for event in events]
        self.clock = clock
        self.slice_seconds = slice_seconds
        self.speed = speed
        self.on_progress = on_progress
        self._sleep = sleep
        self._wall = wall
        self._started: float | None = None
        self.predictions = 0
        self.labels = 0

    def poll(self, max_records: int, timeout: float) -> list[Record]:
        if self._paused or self.is_idle():
            return []
        if self._started is None:
            self._started = self._wall()
        cursor = self._cursor
        boundary = self.clock.now + self.slice_seconds
        upto = min(bisect.bisect_left(self.arrivals, boundary, lo=cursor), cursor + max_records)
        if self.speed is not None:
            upto = min(upto, cursor + max(1, int(self.speed / 10)))
            wait = self._started + upto / self.speed - self._wall()
            if wait > 0:
                self._sleep(wait)
        records = [
            record
            for record in self.records[cursor:upto]
            if record.offset >= self._positions.get((record.topic, record.partition), 0)
        ]
        self._cursor = upto
        for record in records:
            if record.topic == "predictions":
                self.predictions += 1
            else:
                self.labels += 1
        reached = upto < len(self.arrivals) and self.arrivals[upto] >= boundary
        self.clock.advance(boundary if reached or upto == cursor else self.arrivals[upto - 1])
        self.report([])
        return records

    def report(self, lines: list[str], done: bool = False) -> None:
        if self.on_progress is None:
            return
        started = self._started if self._started is not None else self._wall()
        self.on_progress(
            Progress(
                now=self.clock.now,
                events=self._cursor,
                total_events=len(self.records),
                predictions=self.predictions,
                labels=self.labels,
                wall_seconds=self._wall() - started,
                lines=lines,
                done=done,
            )
        )
