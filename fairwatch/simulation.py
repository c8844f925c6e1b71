"""Recorded events through the monitor on a simulated clock: the wiring ``fairwatch demo`` and
``fairwatch backtest`` share.

The pipeline, its state store, the alert manager and the closed-window gate (with
``pipeline.alert_delay``, its resume and its counters) are the ones ``fairwatch run`` builds
(:func:`fairwatch.app.build_alerting` and :func:`fairwatch.app.build_daemon`, same
configuration schema); only the source (:class:`fairwatch.replay.ReplaySource`), the clock
(:class:`fairwatch.replay.SimulatedTime`), the receivers
(:class:`fairwatch.episodes.RecordingReceiver`) and the sink (the caller's) differ. The
simulated clock is also the alert manager's ticker: it runs ``tick`` every ``tick_every``
simulated seconds as event time passes (no scheduler thread). Between the gate and the manager
stands an :class:`fairwatch.episodes.EpisodeRecorder`. The daemon cycles (evaluate, write,
checkpoint) after every poll, and the source ends each poll where a window closes, so each
window is judged right after the event that closed it was read.

With ``judged_only`` the pipeline evaluates a window only when the rules judge it (once, when it
closes; see :meth:`monitor.stream.closed_windows.ClosedWindowGate.decide`): the sink then gets
those evaluations
only, not the ones of open windows nor the revisions (the backtest: a month of events in under a
minute, most of it the metric engine).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from alerting.manager import AlertManager
from alerting.receivers import ReceiverConfig
from alerting.types import Receiver
from fairwatch.app import Alerting, build_alerting, build_daemon
from fairwatch.episodes import EpisodeRecorder, RecordingReceiver
from fairwatch.replay import Cadence, RecordedEvents, ReplaySource, SimulatedTime, arrival_moments
from monitor.config import MonitorConfig
from monitor.stream.closed_windows import ClosedWindowGate
from monitor.stream.daemon import Daemon
from monitor.stream.memory import MemoryDeadLetters
from monitor.types import EvaluationListener, MetricsSink

TICK_EVERY = 60.0  # simulated seconds between alert manager ticks
DRAIN_SECONDS = 3600.0  # simulated time after the last event: the last notifications go out


@dataclass
class SimulatedRun:
    """Everything a replay is made of; :meth:`run` runs it."""

    config: MonitorConfig
    alerting: Alerting
    daemon: Daemon
    clock: SimulatedTime
    source: ReplaySource
    episodes: EpisodeRecorder
    receivers: dict[str, RecordingReceiver]
    dead_letters: MemoryDeadLetters

    @property
    def manager(self) -> AlertManager:
        return self.alerting.manager

    @property
    def gate(self) -> ClosedWindowGate:
        """The closed-window gate (``released``: the windows the rules judged)."""
        return self.alerting.gate

    def run(self, drain: float = DRAIN_SECONDS) -> None:
        """Replay every record, then let ``drain`` simulated seconds pass (group_wait, retries)."""
        try:
            self.daemon.run(stop_when_idle=True)
            self.clock.advance(self.clock.now + drain)
        finally:
            self.manager.stop()

    @property
    def notifications(self) -> list[dict[str, object]]:
        """The notifications the receivers recorded, receiver by receiver."""
        return [body for receiver in self.receivers.values() for body in receiver.delivered]


def simulated_run(
    config: MonitorConfig,
    events: RecordedEvents,
    *,
    sink: MetricsSink,
    forward: Callable[[ReceiverConfig], Receiver] | None = None,
    listeners: Sequence[EvaluationListener] = (),
    judged_only: bool = False,
    speed: float | None = None,
    tick_every: float = TICK_EVERY,
) -> SimulatedRun:
    """Wire a replay of ``events`` (see :class:`fairwatch.replay.ReplaySource`).

    State goes to ``config.state_dir``, metrics to ``sink``. Each receiver of the alerting
    section records its notifications and, with ``forward``, also hands them to the receiver
    ``forward(config)`` returns (else nothing is sent). ``listeners`` get the closed windows
    after the alert manager has judged them.
    """
    config = config.model_copy(
        update={"pipeline": config.pipeline.model_copy(update={"checkpoint_interval": 0.0})}
    )
    receivers: dict[str, RecordingReceiver] = {}

    def record(receiver: ReceiverConfig) -> Receiver:
        recording = RecordingReceiver(receiver, forward(receiver) if forward else None)
        receivers[receiver.name] = recording
        return recording

    def judge(manager: AlertManager) -> EpisodeRecorder:
        return EpisodeRecorder(manager, rules={rule.name: rule for rule in manager.config.rules})

    moments = arrival_moments(events.arrivals)
    clock = SimulatedTime(float(moments[0]) if len(moments) else 0.0, tick_every)
    alerting = build_alerting(
        config,
        receivers=record,
        clock=clock,
        ticker=clock,  # the simulated clock ticks the manager as event time passes
        judge=judge,
        listeners=listeners,
        durable=False,  # the replay's alert state is thrown away at its end: no fsync
    )
    episodes = alerting.judge
    assert isinstance(episodes, EpisodeRecorder)
    source = ReplaySource(
        events,
        clock,
        Cadence.of(config),
        predictions_topic=config.kafka.predictions_topic,
        labels_topic=config.kafka.labels_topic,
        speed=speed,
        horizon=config.pipeline.max_clock_skew,
    )
    dead_letters = MemoryDeadLetters()
    try:
        daemon = build_daemon(
            config,
            source=source,
            sink=sink,
            dead_letters=dead_letters,
            alerting=alerting,
            health=False,
            clock=clock,
            evaluation_filter=alerting.gate if judged_only else None,
            reports=False,  # a replay makes no scheduled report
        )
    except BaseException:
        alerting.manager.stop()
        raise
    return SimulatedRun(
        config=config,
        alerting=alerting,
        daemon=daemon,
        clock=clock,
        source=source,
        episodes=episodes,
        receivers=receivers,
        dead_letters=dead_letters,
    )
