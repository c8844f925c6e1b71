"""The composition root: builds the daemon from a configuration (``fairwatch run``).

``monitor/`` never imports ``alerting/``; this module wires them. :func:`build_alerting` builds
the alert manager and the closed-window gate in front of it, with its ticker and clock injected;
:func:`build_daemon` makes the gate one more evaluation listener of the pipeline, and the
manager and gate more counter sources of the health endpoint and the ``fairwatch_pipeline``
measurement. ``fairwatch run``, the replays (``fairwatch demo``, ``fairwatch backtest``, through
:func:`fairwatch.simulation.simulated_run`) and the tests all wire alerting this way.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.config import ConfigError, MonitorConfig, load_config, unset_secrets
from monitor.kafka.deadletter import KafkaDeadLetters
from monitor.kafka.group import default_instance_id
from monitor.kafka.source import KafkaSource
from monitor.stream.closed_windows import ClosedWindowGate
from monitor.stream.daemon import Daemon
from monitor.stream.memory import MemoryDeadLetters
from monitor.stream.pipeline import Pipeline
from monitor.stream.state import StateStore
from monitor.types import (
    CounterSource,
    DeadLetters,
    EvaluationFilter,
    EvaluationListener,
    MetricsSink,
    Source,
)

if TYPE_CHECKING:
    from alerting.config import AlertingConfig
    from alerting.manager import AlertManager
    from alerting.types import Clock, ReceiverFactory, Ticker
    from fairwatch.compliance.schedule.scheduler import ReportScheduler

logger = logging.getLogger(__name__)


def validate(config: MonitorConfig) -> Any:
    """Check the parts other packages validate (the ``alerting:`` section); returns its config."""
    from alerting.config import parse_alerting_config

    if config.alerting is None:
        return None
    return parse_alerting_config(config.alerting)


def load(
    path: str | Path, *, secrets: bool = True, environ: Mapping[str, str] | None = None
) -> MonitorConfig:
    """Load and fully validate a configuration file: every check ``fairwatch run`` makes before
    it touches Kafka (``fairwatch check-config`` runs exactly these).

    ``ConfigError`` is one line naming each bad key. ``secrets`` also requires the variables
    that hold secrets read at start (``influxdb.token_env``, receivers' ``*_env``) to be set;
    ``silence`` (which reads none) and ``alerts test`` (which reports each receiver's own) pass
    ``False``.
    """
    from alerting.config import unset_secrets as unset_receiver_secrets

    config = load_config(path, environ)
    alerting = validate(config)
    problems = []
    if config.influxdb is None and config.embedded_sink is None:
        problems.append("influxdb: one of influxdb or embedded_sink must be configured")
    if secrets:
        problems.extend(unset_secrets(config, environ))
        if alerting is not None:
            problems.extend(unset_receiver_secrets(alerting, environ))
    if problems:
        raise ConfigError("; ".join(problems))
    return config


def build_sink(config: MonitorConfig) -> MetricsSink:
    """The InfluxDB sink when configured, else the embedded SQLite sink."""
    if config.influxdb is not None:
        from monitor.sinks.influx import InfluxSink

        settings = config.influxdb
        return InfluxSink(
            settings.url,
            settings.token(),
            settings.org,
            settings.bucket,
            batch_size=settings.batch_size,
            flush_interval=settings.flush_interval,
            max_backlog=settings.buffer_points,
        )
    if config.embedded_sink is None:
        raise ConfigError("influxdb: one of influxdb or embedded_sink must be configured")
    from monitor.sinks.embedded import EmbeddedSink

    return EmbeddedSink(config.embedded_sink.path)


@dataclass
class Alerting:
    """The alert manager and the closed-window gate in front of it, as :func:`build_alerting`
    wires them: the gate is the pipeline's evaluation listener, it hands each closed window
    once to ``judge`` (the manager, or what stands in front of it), then to the listeners."""

    config: AlertingConfig
    manager: AlertManager
    gate: ClosedWindowGate
    judge: EvaluationListener

    @property
    def counter_sources(self) -> list[CounterSource]:
        """What reports the alerting counters (``/metrics``, ``fairwatch_pipeline``)."""
        return [self.manager, self.gate]

    def resume(self, watermark: float) -> None:
        """Start once the pipeline has restored its ``watermark``: windows released before it
        were judged before a restart and are not judged again; then the ticker starts."""
        self.gate.resume(watermark)
        self.manager.start()


def build_alerting(
    config: MonitorConfig,
    *,
    receivers: ReceiverFactory | None = None,
    clock: Clock = time.time,
    ticker: Ticker | None = None,
    judge: Callable[[AlertManager], EvaluationListener] | None = None,
    listeners: Sequence[EvaluationListener] = (),
    durable: bool = True,
) -> Alerting:
    """The alert manager of ``config``'s ``alerting:`` section (defaults when it has none) and
    the closed-window gate that feeds it, with ``pipeline.alert_delay``.

    Args:
        receivers: builds each configured receiver (default
            :func:`alerting.receivers.build_receiver`; a replay's record what they get). With
            the default, ``alerting.advice.topic`` publishes the advice of firing alerts to
            Kafka (:mod:`fairwatch.advice_topic`, the ``kafka:`` settings); a replay's does not.
        clock: what the default ticker reads: the daemon's clock.
        ticker: calls the manager's ``tick(now)``; default an APScheduler thread every
            ``alerting.tick_interval`` seconds of ``clock``. A replay passes its simulated clock
            (:class:`alerting.tickers.ManualTicker`), which ticks as event time passes.
        judge: what the gate hands closed windows to, built from the manager; default the
            manager itself (a replay's :class:`fairwatch.episodes.EpisodeRecorder` hands them on
            and records the episodes).
        listeners: also get the closed windows, after the judge.
        durable: ``False`` skips the fsync of each change of the alert store (state thrown away
            at the end of a replay).

    Nothing runs until :meth:`Alerting.resume` (``build_daemon`` calls it once the pipeline
    exists); the owner calls ``manager.stop()``.
    """
    from alerting.config import parse_alerting_config
    from alerting.manager import AlertManager
    from alerting.receivers import build_receiver
    from alerting.tickers import SchedulerTicker

    validated = validate(config)
    settings: AlertingConfig = parse_alerting_config(None) if validated is None else validated
    build = build_receiver if receivers is None else receivers
    producer = None
    if receivers is None and settings.advice.topic is not None:  # a replay publishes nothing
        from fairwatch.advice_topic import KafkaMessageProducer

        producer = KafkaMessageProducer(config.kafka, timeout=settings.advice.timeout)
    manager = AlertManager(
        settings,
        config.state_dir,
        receivers={receiver.name: build(receiver) for receiver in settings.receivers},
        ticker=SchedulerTicker(settings.tick_interval, clock) if ticker is None else ticker,
        durable=durable,
        engine=config.engine,
        advice_producer=producer,
    )
    front: EvaluationListener = manager if judge is None else judge(manager)
    # Rules judge each window once, when it has closed: not while it fills, nor again when a
    # late label revises it days later (sinks get every revision).
    gate = ClosedWindowGate([front, *listeners], delay=config.pipeline.alert_delay)
    return Alerting(settings, manager, gate, front)


def build_daemon(
    config: MonitorConfig,
    *,
    source: Source | None = None,
    sink: MetricsSink | None = None,
    dead_letters: DeadLetters | None = None,
    alerting: bool | Alerting = True,
    health: bool = True,
    listeners: Sequence[EvaluationListener] = (),
    clock: Callable[[], float] | None = None,
    evaluation_filter: EvaluationFilter | None = None,
    reports: bool | ReportScheduler = True,
) -> Daemon:
    """Everything ``fairwatch run`` runs; the demo passes an embedded source and sink.

    Without ``source`` the Kafka consumer is used (in a child process unless
    ``kafka.consumer_process`` is false; of the pane topic, in process, in ``kafka.mode:
    pane_counts``) and dead letters go to the Kafka topic; with a
    ``source`` (e.g. :class:`monitor.stream.memory.EmbeddedSource`) dead letters are kept in a
    :class:`monitor.stream.memory.MemoryDeadLetters` unless ``dead_letters`` is given. ``health``
    starts the HTTP endpoint on ``health.port``. ``alerting=True`` wires the alert manager
    (:func:`build_alerting` on the daemon's clock) when the config has an ``alerting:`` section,
    and stops it with the daemon; an :class:`Alerting` the caller built (a replay's, on a
    simulated clock) is wired and started the same way but stays the caller's to stop.
    ``evaluation_filter`` chooses which changed windows are evaluated (the backtest's
    closed-window gate: only those the alert rules judge). ``reports=True`` runs the scheduled
    reports of the ``reports:`` section (:func:`fairwatch.compliance.schedule.scheduler.
    build_reports` on the daemon's clock, reading the daemon's sink and alert store) and stops
    them with the daemon; a :class:`ReportScheduler` the caller built (on its own clock and
    ticker) is started the same way and stays the caller's to stop. Either makes a period's
    report once the pipeline's event time has passed its end (plus ``pipeline.alert_delay``)
    and the sink has written everything.
    """
    sink = sink if sink is not None else build_sink(config)
    if dead_letters is None:
        # an embedded source (demo, tests) keeps its dead letters in memory
        dead_letters = KafkaDeadLetters(config.kafka) if source is None else MemoryDeadLetters()
    if source is None:
        instance_id = default_instance_id(config.kafka, config.state_dir)
        if config.kafka.mode == "pane_counts":  # a few records per second: read in process
            from monitor.kafka.panes import PaneTopicSource

            source = PaneTopicSource(config.kafka, instance_id)
        elif config.kafka.consumer_process:
            from monitor.kafka.consumer_process import ProcessSource

            source = ProcessSource(config.kafka, instance_id)
        else:
            source = KafkaSource(config.kafka, instance_id)
    all_listeners: list[EvaluationListener] = [sink, *listeners]
    counter_sources: list[CounterSource] = []
    on_stop: list[Callable[[], None]] = []
    daemon_clock = time.time if clock is None else clock
    wired: Alerting | None = None
    if isinstance(alerting, Alerting):
        wired = alerting  # the caller's: it stops it
    elif alerting and config.alerting is not None:
        wired = build_alerting(config, clock=daemon_clock)
        on_stop.append(wired.manager.stop)
    if wired is not None:
        all_listeners.append(wired.gate)
        counter_sources.extend(wired.counter_sources)
    counter_sources.append(sink)
    store = StateStore(config.state_dir, config.pipeline.state_cache_mb)
    pipeline = Pipeline(config, store, all_listeners, evaluation_filter)
    if wired is not None:
        wired.resume(pipeline.watermark.value)
    scheduler = _wire_reports(config, reports, pipeline, sink, wired, daemon_clock)
    if scheduler is not None and reports is True:
        on_stop.insert(0, scheduler.stop)  # before the alert manager closes its store
    daemon = Daemon(
        pipeline,
        source,
        dead_letters,
        sink,
        counter_sources=counter_sources,
        on_stop=on_stop,
        clock=daemon_clock,
        instance=default_instance_id(config.kafka, config.state_dir),
    )
    if health:
        from monitor.health import HealthServer

        server = HealthServer(
            config.health.host,
            config.health.port,
            sources=[daemon],
            readiness={
                "consumer_assigned": source.is_ready,
                "sink_reachable": sink.is_reachable,
            },
        )
        server.start()
        daemon.on_stop.append(server.stop)
    return daemon


def _wire_reports(
    config: MonitorConfig,
    reports: bool | ReportScheduler,
    pipeline: Pipeline,
    sink: MetricsSink,
    wired: Alerting | None,
    clock: Callable[[], float],
) -> ReportScheduler | None:
    """Start the scheduled reports (the caller's scheduler, or one built here when the config
    has a ``reports:`` section); a period is ready once its windows have closed and the sink
    has written them."""
    if reports is False or (reports is True and not config.reports):
        return None
    from fairwatch.compliance.schedule.scheduler import build_reports

    scheduler = (
        build_reports(
            config,
            clock=clock,
            sink=sink,
            alert_store=None if wired is None else wired.manager.store,
        )
        if reports is True
        else reports
    )
    watermark, delay = pipeline.watermark, config.pipeline.alert_delay

    def ready(end: float) -> bool:
        return watermark.value >= end + delay and sink.backlog() == 0

    scheduler.start(ready)
    return scheduler
