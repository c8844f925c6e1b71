"""Recorded events through the monitor on a simulated clock: the wiring ``fairwatch demo`` and
``fairwatch backtest`` share.

The pipeline, its state store, the alert manager and the closed-window gate are the ones
``fairwatch run`` builds (:func:`fairwatch.app.build_daemon`, same configuration schema); only
the source (:class:`fairwatch.replay.ReplaySource`), the clock
(:class:`fairwatch.replay.SimulatedTime`), the receivers
(:class:`fairwatch.episodes.RecordingReceiver`) and the sink (the caller's) differ. The alert
manager's scheduler thread is never started: the simulated clock ticks it. The daemon cycles
(evaluate, write, checkpoint) after every poll, and the source ends each poll where a window
closes, so each window is judged right after the event that closed it was read.

With ``judged_only`` the pipeline evaluates a window only when the rules judge it (once, when it
closes; see :meth:`monitor.stream.closed_windows.ClosedWindowGate.decide`): the sink then gets
those evaluations
only, not the ones of open windows nor the revisions (the backtest: a month of events in under a
minute, most of it the metric engine).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from alerting.config import AlertingConfig, parse_alerting_config
from alerting.manager import AlertManager
from alerting.receivers import Receiver, ReceiverConfig
from fairwatch.app import build_daemon
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
    alerting: AlertingConfig
    daemon: Daemon
    clock: SimulatedTime
    source: ReplaySource
    manager: AlertManager
    gate: ClosedWindowGate
    episodes: EpisodeRecorder
    receivers: dict[str, RecordingReceiver]
    dead_letters: MemoryDeadLetters

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
    alerting = parse_alerting_config(config.alerting)
    receivers = {
        receiver.name: RecordingReceiver(receiver, forward(receiver) if forward else None)
        for receiver in alerting.receivers
    }
    # The replay's alert state is thrown away at its end: no fsync for each change.
    manager = AlertManager(alerting, config.state_dir, receivers=receivers, durable=False)
    episodes = EpisodeRecorder(manager, rules={rule.name: rule for rule in alerting.rules})
    moments = arrival_moments(events.arrivals)
    clock = SimulatedTime(float(moments[0]) if len(moments) else 0.0, tick_every, manager.tick)
    source = ReplaySource(
        events,
        clock,
        Cadence.of(config),
        predictions_topic=config.kafka.predictions_topic,
        labels_topic=config.kafka.labels_topic,
        speed=speed,
    )
    # Rules judge each window once, when it has closed, as in `fairwatch run`.
    gate = ClosedWindowGate([episodes, *listeners], delay=config.pipeline.alert_delay)
    dead_letters = MemoryDeadLetters()
    try:
        daemon = build_daemon(
            config,
            source=source,
            sink=sink,
            dead_letters=dead_letters,
            alerting=False,  # the manager built above, ticked by the simulated clock
            health=False,
            listeners=[gate],
            clock=clock,
            evaluation_filter=gate if judged_only else None,
        )
    except BaseException:
        manager.stop()
        raise
    return SimulatedRun(
        config=config,
        alerting=alerting,
        daemon=daemon,
        clock=clock,
        source=source,
        manager=manager,
        gate=gate,
        episodes=episodes,
        receivers=receivers,
        dead_letters=dead_letters,
    )
