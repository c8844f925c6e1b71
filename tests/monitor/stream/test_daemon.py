"""The run loop (:mod:`monitor.stream.daemon`) on its own: a real pipeline and state store, the
in-memory source, and a sink and dead-letter outlet that record what the daemon asks of them.

Situations: a stream read to its end, bad records whose dead letters are not acknowledged (no
checkpoint may be taken), a full sink buffer (consumption pauses, never drops), a restart from
the checkpoint half-way, an injected clock, counters from several sources, and a shutdown step
that fails.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import pytest

from monitor.config import MonitorConfig
from monitor.engine.results import WindowEvaluation
from monitor.stream.daemon import Daemon
from monitor.stream.decode import InvalidEvent, Record
from monitor.stream.memory import EmbeddedSource, MemoryDeadLetters
from monitor.stream.pipeline import Pipeline
from monitor.stream.state import StateStore
from monitor.types import CounterSample, DeadLetters, MetricsSink, Source
from tests.monitor.stream.reference import (
    evaluation_counts,
    make_events,
    records,
    reference_counts,
)
from tests.monitor.stream.test_pipeline import make_config


class RecordingSink:
    """A :class:`monitor.types.MetricsSink` that keeps everything in memory; ``full`` answers
    ``is_full`` in turn."""

    def __init__(self, full: Sequence[bool] = ()) -> None:
        self.evaluations: list[WindowEvaluation] = []
        self.evaluated_at: list[float] = []
        self.watermarks: list[float] = []
        self.pipeline_writes: list[tuple[list[CounterSample], float]] = []
        self.flushes = 0
        self.closed = False
        self.full = list(full)

    def on_evaluations(
        self, evaluations: Sequence[WindowEvaluation], now: float, watermark: float
    ) -> None:
        self.evaluations.extend(evaluations)
        self.evaluated_at.append(now)
        self.watermarks.append(watermark)

    def write_pipeline(self, samples: Sequence[CounterSample], now: float) -> None:
        self.pipeline_writes.append((list(samples), now))

    def flush(self, timeout: float | None = None) -> None:
        self.flushes += 1

    def close(self, timeout: float | None = None) -> None:
        self.closed = True

    def backlog(self) -> int:
        return 0

    def is_full(self) -> bool:
        return self.full.pop(0) if self.full else False

    def is_reachable(self) -> bool:
        return True

    def samples(self) -> list[CounterSample]:
        return [CounterSample("sink_points_written_total", 1.0)]


class Outlet(MemoryDeadLetters):
    """Dead letters in memory, acknowledged only while ``acknowledge`` is true."""

    def __init__(self, acknowledge: bool = True) -> None:
        super().__init__()
        self.acknowledge = acknowledge
        self.closed = False

    def flush(self, timeout: float) -> bool:
        return self.acknowledge

    def close(self, timeout: float = 0.0) -> None:
        self.closed = True


class WatchedSource(EmbeddedSource):
    """The in-memory source, noting pauses, resumes, interrupts and closing."""

    def __init__(self, stream: Sequence[Record] = ()) -> None:
        super().__init__(stream)
        self.calls: list[str] = []

    def pause(self) -> None:
        self.calls.append("pause")
        super().pause()

    def resume(self) -> None:
        self.calls.append("resume")
        super().resume()

    def interrupt(self) -> None:
        self.calls.append("interrupt")

    def close(self, timeout: float = 0.0) -> None:
        self.calls.append("close")


@pytest.fixture
def config(tmp_path: Path) -> MonitorConfig:
    return make_config(tmp_path)


class Daemons(Protocol):
    """``daemons(source, sink, dead_letters, **options)``: a daemon on the test's state dir
    (the doubles are checked against the Protocols the daemon is typed with)."""

    def __call__(
        self,
        source: Source,
        sink: MetricsSink,
        dead_letters: DeadLetters | None = None,
        **options: Any,
    ) -> Daemon: ...


@pytest.fixture
def daemons(config: MonitorConfig) -> Iterator[Daemons]:
    """See :class:`Daemons`."""
    made: list[Daemon] = []

    def make(
        source: Source,
        sink: MetricsSink,
        dead_letters: DeadLetters | None = None,
        **options: Any,
    ) -> Daemon:
        pipeline = Pipeline(config, StateStore(config.state_dir), [sink])
        daemon = Daemon(pipeline, source, dead_letters or Outlet(), sink, **options)
        made.append(daemon)
        return daemon

    yield make


def stream_of(count: int, partitions: int = 2) -> tuple[list[Record], list, list]:
    predictions, labels = make_events(count, models=("credit", "fraud"))
    stream = records("predictions", predictions, partitions) + records("labels", labels, partitions)
    return stream, predictions, labels


def offsets_of(stream: Sequence[Record]) -> dict[tuple[str, int], int]:
    """The next offset of every partition once the whole stream is read."""
    out: dict[tuple[str, int], int] = {}
    for record in stream:
        key = (record.topic, record.partition)
        out[key] = max(out.get(key, 0), record.offset + 1)
    return out


def test_a_stream_read_to_its_end_is_counted_written_checkpointed_and_committed(
    config: MonitorConfig, daemons: Daemons
) -> None:
    stream, predictions, labels = stream_of(1500)
    source, sink, outlet = WatchedSource(stream), RecordingSink(), Outlet()
    daemon = daemons(source, sink, outlet)
    assert daemon.run(stop_when_idle=True) == 0
    assert evaluation_counts(sink.evaluations) == reference_counts(
        predictions, labels, config.windows
    )
    assert source.committed == offsets_of(stream)
    assert sink.flushes >= 1  # the final cycle flushes before its checkpoint
    assert sink.pipeline_writes  # the counters are written at least once, by the final cycle
    assert source.calls[-1:] == ["close"] and outlet.closed and sink.closed
    assert daemon.abandoned == []


def test_dead_letters_not_acknowledged_hold_back_the_checkpoint_and_lose_nothing(
    config: MonitorConfig, daemons: Daemons
) -> None:
    predictions, _labels = make_events(200)
    stream = records("predictions", [*predictions[:100], b"{broken", *predictions[100:]])
    unacknowledged = Outlet(acknowledge=False)
    first_source = EmbeddedSource(stream)
    first = daemons(first_source, RecordingSink(), unacknowledged)
    assert first.run(stop_when_idle=True) == 0
    assert [letter.reason for letter in unacknowledged.letters] == ["invalid_json"]
    # no checkpoint and no commit: a crash now would replay the record and its dead letter
    assert first.source is first_source and first_source.committed == {}
    outlet = Outlet()
    source = EmbeddedSource(stream)
    second = daemons(source, RecordingSink(), outlet)
    assert second.pipeline.positions == {}  # nothing was checkpointed
    assert second.run(stop_when_idle=True) == 0
    [letter] = outlet.letters
    assert isinstance(letter, InvalidEvent) and letter.record.value == b"{broken"
    assert source.committed == {("predictions", 0): 201}


def test_a_full_sink_pauses_consumption_until_it_drains(
    config: MonitorConfig, daemons: Daemons
) -> None:
    stream, predictions, labels = stream_of(600, partitions=1)
    source = WatchedSource(stream)
    sink = RecordingSink(full=[True] * 5)  # full for the first five loop turns
    daemon = daemons(source, sink)
    assert daemon.run(stop_when_idle=True) == 0
    assert source.calls[:2] == ["pause", "resume"]
    assert source.calls.count("pause") == source.calls.count("resume") == 1
    # paused, never dropped: every event is counted
    assert evaluation_counts(sink.evaluations) == reference_counts(
        predictions, labels, config.windows
    )


def test_a_restart_from_the_checkpoint_counts_every_event_once(
    config: MonitorConfig, daemons: Daemons
) -> None:
    stream, predictions, labels = stream_of(1200)
    half = len(stream) // 2
    first_sink = RecordingSink()
    first = daemons(EmbeddedSource(stream[:half]), first_sink)
    assert first.run(stop_when_idle=True) == 0
    # the second run is handed the whole stream again (a consumer rewound to the committed
    # offsets may re-deliver): what the checkpoint holds is skipped, the rest counted once
    second_sink = RecordingSink()
    second = daemons(EmbeddedSource(stream), second_sink)
    assert second.pipeline.positions == offsets_of(stream[:half])
    assert second.run(stop_when_idle=True) == 0
    assert evaluation_counts([*first_sink.evaluations, *second_sink.evaluations]) == (
        reference_counts(predictions, labels, config.windows)
    )


def test_evaluations_and_counters_carry_the_injected_clock(
    daemons: Daemons,
) -> None:
    stream, _predictions, _labels = stream_of(300, partitions=1)
    ticks = iter(range(10**6))

    def clock() -> float:  # ten seconds a reading: a checkpoint interval passes every time
        return 2_000_000_000.0 + 10.0 * next(ticks)

    sink = RecordingSink()
    daemon = daemons(EmbeddedSource(stream), sink, clock=clock)
    assert daemon.adaptive_evaluation is False  # a simulation is reproducible
    assert daemon.run(stop_when_idle=True) == 0
    assert sink.evaluated_at and all(now >= 2_000_000_000.0 for now in sink.evaluated_at)
    assert sink.evaluated_at == sorted(sink.evaluated_at)
    assert all(now >= 2_000_000_000.0 for _samples, now in sink.pipeline_writes)


def test_counter_samples_are_tagged_and_a_failing_source_is_skipped(
    daemons: Daemons, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        def samples(self) -> list[CounterSample]:
            raise RuntimeError("counter source down")

    class Alerts:
        def samples(self) -> list[CounterSample]:
            return [CounterSample("alerts_sent_total", 3.0, {"receiver": "hook"})]

    sink = RecordingSink()
    daemon = daemons(
        EmbeddedSource(stream_of(50, partitions=1)[0]),
        sink,
        counter_sources=[Broken(), Alerts()],
        instance="host-1",
    )
    with caplog.at_level(logging.ERROR):
        assert daemon.run(stop_when_idle=True) == 0
    samples, _now = sink.pipeline_writes[-1]
    alerts = [sample for sample in samples if sample.name == "alerts_sent_total"]
    assert [sample.value for sample in alerts] == [3.0]
    assert alerts[0].labels["receiver"] == "hook"
    for sample in samples:  # every stored sample names the process that counted it
        assert sample.labels["instance"] == "host-1"
        assert sample.labels["incarnation"] == daemon.incarnation
    assert len(samples) > 1  # the pipeline's own counters are there too
    assert "counter_source_failed source=Broken" in caplog.text


def test_stop_interrupts_the_source_and_ends_the_run(daemons: Daemons) -> None:
    source = WatchedSource(stream_of(100, partitions=1)[0])
    daemon = daemons(source, RecordingSink())
    finished = threading.Event()

    def run() -> None:
        daemon.run()
        finished.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    daemon.stop()
    assert finished.wait(10), "run() did not return after stop()"
    assert source.calls[0] == "interrupt" and "close" in source.calls


def test_a_failing_stop_step_does_not_keep_the_others_from_closing(
    daemons: Daemons, caplog: pytest.LogCaptureFixture
) -> None:
    closed: list[str] = []

    def broken() -> None:
        raise RuntimeError("webhook gone")

    source, sink, outlet = WatchedSource(stream_of(50, partitions=1)[0]), RecordingSink(), Outlet()
    daemon = daemons(source, sink, outlet, on_stop=[broken, lambda: closed.append("after")])
    with caplog.at_level(logging.ERROR):
        assert daemon.run(stop_when_idle=True) == 0
    assert closed == ["after"] and sink.closed and outlet.closed and "close" in source.calls
    assert "shutdown_step_failed step=broken" in caplog.text
    assert daemon.abandoned == []
