"""Opening what a report reads, as the configuration names it: the metrics sink (InfluxDB when
configured, else the embedded sink) and the alert store under ``state_dir``."""

from __future__ import annotations

from pathlib import Path

from alerting.config import parse_alerting_config
from alerting.store import AlertStore
from fairwatch.compliance.gather import gather
from fairwatch.compliance.model import Report
from fairwatch.compliance.period import Period
from fairwatch.compliance.sources import EmbeddedReader, MetricsReader, SourceError
from monitor.config import MonitorConfig
from monitor.sinks.embedded import EmbeddedSink


def open_reader(config: MonitorConfig, sink: object | None = None) -> MetricsReader:
    """A reader of the configured sink; ``sink``: the daemon's own embedded sink, read through
    its connection."""
    if config.influxdb is not None:
        from fairwatch.compliance.influx import InfluxReader

        settings = config.influxdb
        return InfluxReader(settings.url, settings.token(), settings.org, settings.bucket)
    if isinstance(sink, EmbeddedSink):
        return EmbeddedReader(sink)
    if config.embedded_sink is None:
        raise SourceError("influxdb: one of influxdb or embedded_sink must be configured")
    return EmbeddedReader(config.embedded_sink.path)


def alert_store_path(config: MonitorConfig) -> Path:
    return Path(config.state_dir) / parse_alerting_config(config.alerting).storage.path


def open_alert_store(config: MonitorConfig) -> AlertStore | None:
    """The alert store, or ``None`` when the daemon never made one (no alerting configured, or
    it never ran): the report then has no alerts and no silences."""
    path = alert_store_path(config)
    return AlertStore(path) if path.is_file() else None


def report_for(
    config: MonitorConfig,
    period: Period,
    model: str | None = None,
    *,
    reader: MetricsReader | None = None,
    store: AlertStore | None = None,
) -> Report:
    """Gather the report of ``period``; the stores not given are opened (and closed) here."""
    own_reader = reader is None
    own_store = store is None
    reader = open_reader(config) if reader is None else reader
    try:
        store = open_alert_store(config) if store is None else store
        try:
            return gather(config, reader, store, period, model)
        finally:
            if own_store and store is not None:
                store.close()
    finally:
        if own_reader:
            reader.close()
