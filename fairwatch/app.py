"""The composition root: builds the daemon from a configuration (``fairwatch run``).

``monitor/`` never imports ``alerting/``; this module wires them: the alert manager is one more
evaluation listener of the pipeline and one more counter source of the health endpoint and the
``fairwatch_pipeline`` measurement.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

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

logger = logging.getLogger(__name__)


def validate(config: MonitorConfig) -> Any:
    """Check the parts other packages validate (the ``alerting:`` section); returns its config."""
    from alerting.config import parse_alerting_config
    from alerting.errors import ConfigError as AlertingConfigError

    if config.alerting is None:
        return None
    try:
        return parse_alerting_config(config.alerting)
    except AlertingConfigError as error:
        raise ConfigError(str(error)) from None


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


def build_daemon(
    config: MonitorConfig,
    *,
    source: Source | None = None,
    sink: MetricsSink | None = None,
    dead_letters: DeadLetters | None = None,
    alerting: bool = True,
    health: bool = True,
    listeners: Sequence[EvaluationListener] = (),
    clock: Callable[[], float] | None = None,
    evaluation_filter: EvaluationFilter | None = None,
) -> Daemon:
    """Everything ``fairwatch run`` runs; the demo passes an embedded source and sink.

    Without ``source`` the Kafka consumer is used (in a child process unless
    ``kafka.consumer_process`` is false) and dead letters go to the Kafka topic; with a
    ``source`` (e.g. :class:`monitor.stream.memory.EmbeddedSource`) dead letters are kept in a
    :class:`monitor.stream.memory.MemoryDeadLetters` unless ``dead_letters`` is given. ``health``
    starts the HTTP endpoint on ``health.port``; ``alerting`` wires the alert manager when the
    config has an ``alerting:`` section. ``evaluation_filter`` chooses which changed windows are
    evaluated (the backtest's closed-window gate: only those the alert rules judge).
    """
    sink = sink if sink is not None else build_sink(config)
    if dead_letters is None:
        # an embedded source (demo, tests) keeps its dead letters in memory
        dead_letters = KafkaDeadLetters(config.kafka) if source is None else MemoryDeadLetters()
    if source is None:
        instance_id = default_instance_id(config.kafka, config.state_dir)
        if config.kafka.consumer_process:
            from monitor.kafka.consumer_process import ProcessSource

            source = ProcessSource(config.kafka, instance_id)
        else:
            source = KafkaSource(config.kafka, instance_id)
    all_listeners: list[EvaluationListener] = [sink, *listeners]
    counter_sources: list[CounterSource] = []
    on_stop: list[Callable[[], None]] = []
    alerting_config = validate(config) if alerting else None
    gate: ClosedWindowGate | None = None
    if alerting_config is not None:
        from alerting.manager import AlertManager

        manager = AlertManager(alerting_config, config.state_dir)
        manager.start()
        # Rules judge each window once, when it has closed: not while it fills, nor again when
        # a late label revises it days later (sinks get every revision).
        gate = ClosedWindowGate([manager], delay=config.pipeline.alert_delay)
        all_listeners.append(gate)
        counter_sources.extend([manager, gate])
        on_stop.append(manager.stop)
    counter_sources.append(sink)
    store = StateStore(config.state_dir, config.pipeline.state_cache_mb)
    pipeline = Pipeline(config, store, all_listeners, evaluation_filter)
    if gate is not None:
        gate.resume(pipeline.watermark.value)
    daemon = Daemon(
        pipeline,
        source,
        dead_letters,
        sink,
        counter_sources=counter_sources,
        on_stop=on_stop,
        clock=time.time if clock is None else clock,
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
