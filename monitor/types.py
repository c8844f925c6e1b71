"""Interfaces between the pipeline's stages (STYLE.md: Protocols live in one types.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from monitor.engine.results import WindowEvaluation


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
    """Anything that reports operational counters (the pipeline, the alert manager)."""

    def samples(self) -> Sequence[CounterSample]: ...


class EvaluationListener(Protocol):
    """Receives each evaluated window; the alert manager is one, every sink is one."""

    def on_evaluations(self, evaluations: Sequence[WindowEvaluation], now: float) -> None: ...


#: What to do with a changed window: evaluate it now, keep it for later, or never evaluate it.
WindowDecision = Literal["evaluate", "wait", "skip"]


class EvaluationFilter(Protocol):
    """Chooses which changed windows the pipeline evaluates, for a run whose only reader is the
    alert rules (``fairwatch backtest``):
    :meth:`monitor.stream.closed_windows.ClosedWindowGate.decide`."""

    def decide(self, model_id: str, window: str, window_end: float) -> WindowDecision: ...


class MetricsSink(EvaluationListener, Protocol):
    """Where metrics go (InfluxDB, the embedded SQLite sink).

    Writing the same window again overwrites its points: a point's identity is its measurement,
    tags and time (the window end), so a revised window replaces the earlier values.
    """

    def write_pipeline(self, samples: Sequence[CounterSample], now: float) -> None: ...

    def flush(self) -> None:
        """Block until everything handed over so far is durably written (or raise)."""

    def close(self) -> None: ...
