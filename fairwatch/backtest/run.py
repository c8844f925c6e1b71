"""``fairwatch backtest``: a file of events through the pipeline and the alert rules, in event time.

The events replay through the pipeline and the alert manager of ``fairwatch run``
(:func:`fairwatch.simulation.simulated_run`) on a simulated clock: no Kafka, no wall clock, no
notification sent (the receivers only record). The configuration is the user's, except that the
state lives in a temporary directory (never the configured ``state_dir``), no metrics are kept
(no dashboard reads them: :class:`NoMetrics`), alerting runs even when ``alerting.enabled`` is
false, and windows are evaluated only when the rules judge them (``judged_only``). The same file
and configuration always give the same result.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from fairwatch.backtest.events_file import EventsFile
from fairwatch.episodes import Episode
from fairwatch.replay import Progress
from fairwatch.simulation import simulated_run
from monitor.config import MonitorConfig
from monitor.engine.results import WindowEvaluation
from monitor.stream.counters import (
    EVENTS_CONSUMED,
    EVENTS_DUPLICATE,
    EVENTS_INVALID,
    EVENTS_LATE,
    LABELS_JOINED,
)
from monitor.types import CounterSample


@dataclass(frozen=True)
class DeadLetter:
    """A rejected event: where it was in the file, what it was, why it was rejected."""

    origin: int
    kind: str  # prediction or label (the topic it went to)
    reason: str
    detail: str


@dataclass
class BacktestResult:
    """What a backtest found: the episodes, and what happened to the events."""

    events: EventsFile
    rules: list[str]
    episodes: list[Episode]
    start: float  # event time of the first event read
    end: float  # the clock when the last event had been read
    accepted: dict[str, int]  # by kind
    duplicates: dict[str, int]  # by kind
    labels_joined: int
    late_predictions: int
    windows_judged: int
    dead_letters: list[DeadLetter]
    notifications: dict[str, int] = field(default_factory=dict)  # recorded, by receiver

    @property
    def dead_letters_by_reason(self) -> dict[str, int]:
        return dict(sorted(Counter(letter.reason for letter in self.dead_letters).items()))

    @property
    def episodes_by_rule(self) -> dict[str, int]:
        counts = dict.fromkeys(self.rules, 0)
        for episode in self.episodes:
            counts[episode.rule] = counts.get(episode.rule, 0) + 1
        return counts


class NoMetrics:
    """The backtest's sink: evaluations and counters go nowhere (the rules get the evaluations
    from the closed-window gate; writing them to a database no one reads would only cost time)."""

    name = "none"

    def on_evaluations(
        self, evaluations: Sequence[WindowEvaluation], now: float, watermark: float
    ) -> None:
        pass

    def write_pipeline(self, samples: Sequence[CounterSample], now: float) -> None:
        pass

    def flush(self, timeout: float | None = None) -> None:
        pass

    def backlog(self) -> int:
        return 0

    def is_full(self) -> bool:
        return False

    def is_reachable(self) -> bool:
        return True

    def samples(self) -> list[CounterSample]:
        return []

    def close(self, timeout: float | None = None) -> None:
        pass


def backtest_config(config: MonitorConfig, state_dir: str) -> MonitorConfig:
    """``config`` as the backtest runs it: state in ``state_dir``, alerting enabled."""
    alerting = dict(config.alerting or {})
    alerting["enabled"] = True
    return config.model_copy(update={"state_dir": state_dir, "alerting": alerting})


def run_backtest(
    config: MonitorConfig,
    events: EventsFile,
    on_progress: Callable[[Progress], None] | None = None,
) -> BacktestResult:
    """Replay ``events`` through ``config``'s pipeline and alert rules."""
    with tempfile.TemporaryDirectory(prefix="fairwatch-backtest-") as state_dir:
        replay = simulated_run(
            backtest_config(config, state_dir),
            events.events,
            sink=NoMetrics(),
            judged_only=True,
        )
        replay.source.on_progress = on_progress
        replay.run()
    counters = replay.daemon.pipeline.counters
    topics = {
        "prediction": config.kafka.predictions_topic,
        "label": config.kafka.labels_topic,
    }
    kinds = {topic: kind for kind, topic in topics.items()}
    dead_letters = [
        DeadLetter(
            events.origin(letter.record), kinds[letter.record.topic], letter.reason, letter.detail
        )
        for letter in replay.dead_letters.letters
    ]
    dead_letters.sort(key=lambda letter: letter.origin)
    rejected: Counter[str] = Counter()
    for topic, count in counters.by(EVENTS_INVALID, "topic").items():
        rejected[kinds[topic]] += int(count)
    consumed = counters.by(EVENTS_CONSUMED, "topic")
    accepted = {
        kind: int(consumed.get(topic, 0)) - rejected[kind] for kind, topic in topics.items()
    }
    moments = replay.source.moments
    return BacktestResult(
        events=events,
        rules=[rule.name for rule in replay.alerting.config.rules],
        episodes=replay.episodes.alerts,
        start=moments[0],
        end=moments[-1],
        accepted=accepted,
        duplicates={
            kind: int(counters.get(EVENTS_DUPLICATE, kind=kind)) for kind in ("prediction", "label")
        },
        labels_joined=int(counters.get(LABELS_JOINED)),
        late_predictions=int(counters.total(EVENTS_LATE)),
        windows_judged=replay.gate.released,
        dead_letters=dead_letters,
        notifications={
            name: len(receiver.delivered) for name, receiver in sorted(replay.receivers.items())
        },
    )
