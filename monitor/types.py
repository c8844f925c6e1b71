"""Interfaces between the pipeline's stages (STYLE.md: Protocols live in one types.py).

Data flows one way: a source hands out decoded batches, the pipeline counts them and hands each
evaluated window to its listeners (the sink, the closed-window gate and through it the alert
manager) with the clock and the watermark of that moment; rejected records go to the dead
letters. Every implementation implements its whole Protocol, so callers never probe for a method.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from monitor.engine.results import WindowEvaluation

if TYPE_CHECKING:
    from monitor.stream.decode import BatchDecoder, DecodedBatch, InvalidEvent

#: Where a record comes from: ``(topic, partition)``; positions (next offsets) are kept per one.
TopicPartition = tuple[str, int]


@dataclass(frozen=True)
class CounterSample:
    """One operational counter or gauge value, e.g.
    ``fairwatch_pipeline_events_invalid_total{reason="bad_json"} 3``.

    ``kind`` is ``counter`` (monotonic total) or ``gauge`` (current value). The same samples feed
    the ``fairwatch_pipeline`` measurement of the sinks and the Prometheus ``/metrics`` endpoint.
    Made by :meth:`monitor.counters.Metric.sample` from the metric's declaration.
    """

    name: str
    value: float
    labels: dict[str, str] = field(default_factory=dict)
    kind: str = "counter"
    help: str = ""


class CounterSource(Protocol):
    """Anything that reports operational counters (the pipeline, the sinks, the alert manager)."""

    def samples(self) -> Sequence[CounterSample]: ...


class EvaluationListener(Protocol):
    """Receives each evaluated window; the alert manager is one, every sink is one.

    ``now`` is the daemon's clock when the windows were evaluated; ``watermark`` the pipeline's
    watermark then (event time, epoch seconds): windows ending at or before it are closed.
    """

    def on_evaluations(
        self, evaluations: Sequence[WindowEvaluation], now: float, watermark: float
    ) -> None: ...


#: What to do with a changed window: evaluate it now, keep it for later, or never evaluate it.
WindowDecision = Literal["evaluate", "wait", "skip"]


class EvaluationFilter(Protocol):
    """Chooses which changed windows the pipeline evaluates, for a run whose only reader is the
    alert rules (``fairwatch backtest``):
    :meth:`monitor.stream.closed_windows.ClosedWindowGate.decide`."""

    def decide(
        self, model_id: str, window: str, window_end: float, watermark: float
    ) -> WindowDecision: ...


class MetricsSink(EvaluationListener, CounterSource, Protocol):
    """Where metrics go (InfluxDB, the embedded SQLite sink).

    Writing the same window again overwrites its points: a point's identity is its measurement,
    tags and time (the window end), so a revised window replaces the earlier values.
    """

    def write_pipeline(self, samples: Sequence[CounterSample], now: float) -> None:
        """Write the operational counters ``samples`` at time ``now``."""

    def flush(self, timeout: float | None = None) -> None:
        """Block until everything handed over so far is durably written, or raise a
        :class:`monitor.sinks.errors.SinkError` after ``timeout`` seconds (``None``: the sink's
        own default)."""

    def backlog(self) -> int:
        """Rows accepted but not yet written (0 for a synchronous sink)."""

    def is_full(self) -> bool:
        """Whether the backlog is at its bound: the daemon pauses consumption until it drains."""

    def is_reachable(self) -> bool:
        """Whether the sink can write now (the readiness check ``sink_reachable``)."""

    def close(self, timeout: float | None = None) -> None:
        """Flush within ``timeout`` seconds (``None``: the sink's default) and release the
        sink; rows not written by then are logged, never raised."""


class StartInterrupted(Exception):
    """A stop was requested (SIGTERM, SIGINT) while a source was connecting or starting."""


class Flag(Protocol):
    """``threading.Event`` or ``multiprocessing.Event``: how a stop reaches a source starting."""

    def is_set(self) -> bool: ...

    def set(self) -> None: ...


class Source(Protocol):
    """Where the daemon's records come from: the Kafka consumer (in process or in a child
    process), the embedded source of the demo and tests, a replay of recorded events."""

    def start(self, positions: Mapping[TopicPartition, int]) -> None:
        """Connect and resume every partition from ``positions`` (the next offset the pipeline
        counts, restored from its checkpoint; a partition without one from its beginning). A
        partition assigned again later resumes after the records handed out so far. May raise
        :class:`StartInterrupted` after :meth:`interrupt`."""

    def poll_decoded(
        self, max_records: int, timeout: float, decoder: BatchDecoder
    ) -> DecodedBatch | None:
        """The next records (at most about ``max_records``, waiting at most ``timeout``
        seconds), decoded with ``decoder``; ``None`` when there were none."""

    def commit(self, positions: Mapping[TopicPartition, int]) -> None:
        """The pipeline checkpointed up to ``positions`` (Kafka's copy follows it)."""

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def lag(self, positions: Mapping[TopicPartition, int]) -> dict[TopicPartition, int]:
        """Records left to read per input partition, where known."""
        ...

    def partitions(self) -> set[TopicPartition]:
        """Every input partition this source reads (known once started)."""
        ...

    def is_ready(self) -> bool:
        """Whether the source reads every partition it should (readiness)."""
        ...

    def is_idle(self) -> bool:
        """Whether nothing is left to read for good (a finite source that is drained)."""
        ...

    def interrupt(self) -> None:
        """Make a start still in progress give up (safe from a signal handler)."""

    def close(self, timeout: float) -> None:
        """Stop reading and release the connection within about ``timeout`` seconds."""


class DeadLetters(Protocol):
    """Where rejected records go (the dead-letter topic, or a list for the demo and tests)."""

    def send(self, errors: Sequence[InvalidEvent]) -> None: ...

    def flush(self, timeout: float) -> bool:
        """Wait until every dead letter so far is acknowledged; whether they all are."""
        ...

    def close(self, timeout: float) -> None:
        """Release the producer, waiting at most ``timeout`` seconds for letters in flight."""
