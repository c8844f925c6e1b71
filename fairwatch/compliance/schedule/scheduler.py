"""The scheduled reports of ``fairwatch run``: :class:`ReportScheduler`.

Like the alert manager it owns no thread and reads no clock: its ticker calls ``tick(now)``
(``alerting.tickers.SchedulerTicker`` every minute on the daemon's clock in ``fairwatch run``,
a :class:`~alerting.tickers.ManualTicker` in tests). Each tick, for every report of the
``reports:`` section, the schedule's fires since the last one handled are due (after downtime:
each missed one, oldest first); a fire's period is reported once the pipeline's event time has
passed its end (``ready``) or ``max_wait`` after the fire, whichever comes first. Each report is
made once (:mod:`~fairwatch.compliance.schedule.runs` keys it by name, subject, period,
configuration hash and format), written into the report's directory, then posted to each
target once. A failure is logged and tried again at a later tick (backing off up to an hour);
the daemon goes on.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from alerting.store import AlertStore
from alerting.types import Clock, Ticker
from fairwatch.compliance.confighash import config_hash
from fairwatch.compliance.output import render, write
from fairwatch.compliance.period import Period, format_time, previous_period
from fairwatch.compliance.schedule.plan import due_fires
from fairwatch.compliance.schedule.publish import Publication, Publisher, publishers
from fairwatch.compliance.schedule.runs import MadeReport, ReportRuns, RunKey
from fairwatch.compliance.stores import open_reader, report_for
from monitor.config import MonitorConfig, ReportSettings

log = logging.getLogger("fairwatch.reports")

#: Seconds between ticks of ``fairwatch run``'s scheduler.
TICK_INTERVAL = 60.0
#: The longest wait before a failed report is tried again.
MOST_BACKOFF = 3600.0

Ready = Callable[[float], bool]


class ReportScheduler:
    """Makes and posts the reports of ``config.reports`` as their schedules fire.

    Args:
        config: the daemon's configuration (its ``reports``, sink, state dir).
        ticker: calls :meth:`tick` (started by :meth:`start`).
        sink: the daemon's own metrics sink, read through when it is the embedded one.
        alert_store: the alert manager's store, read through (default: opened per report).
        targets: where a report posts (default :func:`publish.publishers`; tests pass their
            own).
    """

    def __init__(
        self,
        config: MonitorConfig,
        *,
        ticker: Ticker,
        sink: object | None = None,
        alert_store: AlertStore | None = None,
        targets: Callable[[ReportSettings], Sequence[Publisher]] = publishers,
    ) -> None:
        self.config = config
        self.reports = list(config.reports)
        self.ticker = ticker
        self.config_hash = config_hash(config)
        self.runs = ReportRuns(config.state_dir)
        self._sink = sink
        self._store = alert_store
        self._targets = {report.name: list(targets(report)) for report in self.reports}
        self._ready: Ready = lambda _end: True
        self._retry_at: dict[str, float] = {}
        self._failures: dict[str, int] = {}
        self._lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, ready: Ready | None = None) -> None:
        """Hand :meth:`tick` to the ticker. ``ready(end)``: whether every window ending by
        ``end`` has closed and been written (default: always)."""
        if ready is not None:
            self._ready = ready
        self.ticker.start(self.tick)

    def stop(self) -> None:
        """Stop the ticker (waiting for a tick under way) and close the record."""
        self.ticker.stop()
        self.runs.close()

    # -- the work ----------------------------------------------------------------------------

    def tick(self, now: float) -> int:
        """Make and post what is due at ``now``; returns how many reports were made."""
        made = 0
        with self._lock:
            for settings in self.reports:
                if now < self._retry_at.get(settings.name, -math.inf):
                    continue
                try:
                    made += self._run(settings, now)
                except Exception as error:  # logged and tried again later; the daemon goes on
                    failures = self._failures.get(settings.name, 0) + 1
                    self._failures[settings.name] = failures
                    wait = min(MOST_BACKOFF, TICK_INTERVAL * 2 ** (failures - 1))
                    self._retry_at[settings.name] = now + wait
                    log.warning(
                        "event=report_failed name=%s error=%s retry_in=%.0fs",
                        settings.name,
                        str(error) or type(error).__name__,
                        wait,
                    )
                else:
                    self._failures.pop(settings.name, None)
                    self._retry_at.pop(settings.name, None)
        return made

    def _run(self, settings: ReportSettings, now: float) -> int:
        made = 0
        last = self.runs.last_fire(settings.name)
        fires = due_fires(settings.cron, last, now, settings.max_catch_up)
        if last is None and not fires:
            self.runs.handled(settings.name, now)  # nothing fired yet: count from now on
        for fire in fires:
            assert settings.period is not None
            period = previous_period(settings.period, fire)
            if not self._ready(period.end) and now < fire + settings.max_wait:
                log.debug(
                    "event=report_waiting name=%s period_end=%s",
                    settings.name,
                    format_time(period.end),
                )
                break  # later fires wait too: reports are made in order
            subjects: list[str | None] = [*settings.models] or [None]
            for subject in subjects:
                key = RunKey(
                    settings.name,
                    subject or "all",
                    period.start,
                    period.end,
                    self.config_hash,
                    settings.format,
                )
                report = self.runs.made(key)
                if report is None:
                    report = self._make(settings, key, subject, period, now)
                    made += 1
                self._post(settings, report, now)
            self.runs.handled(settings.name, fire)
        return made

    def _directory(self, settings: ReportSettings) -> Path:
        if settings.directory is not None:
            return Path(settings.directory)
        return Path(self.config.state_dir) / "reports"

    def _make(
        self,
        settings: ReportSettings,
        key: RunKey,
        subject: str | None,
        period: Period,
        now: float,
    ) -> MadeReport:
        reader = open_reader(self.config, self._sink)
        try:
            report = report_for(self.config, period, subject, reader=reader, store=self._store)
        finally:
            reader.close()
        rendered = render(report, settings.format)
        directory = self._directory(settings)
        directory.mkdir(parents=True, exist_ok=True)
        path = write(rendered, directory)
        log.info(
            "event=report_made name=%s model=%s from=%s to=%s path=%s sha256=%s",
            settings.name,
            key.subject,
            format_time(key.period_start),
            format_time(key.period_end),
            path,
            rendered.sha256,
        )
        return self.runs.record_made(key, path, rendered.sha256, now)

    def _post(self, settings: ReportSettings, report: MadeReport, now: float) -> None:
        for target in self._targets.get(settings.name, []):
            if self.runs.posted(report.key, target.name):
                continue
            target.publish(Publication(report, settings))
            self.runs.record_posted(report.key, target.name, now)
            log.info(
                "event=report_posted name=%s model=%s target=%s sha256=%s",
                settings.name,
                report.key.subject,
                target.name,
                report.sha256,
            )


def build_reports(
    config: MonitorConfig,
    *,
    clock: Clock,
    ticker: Ticker | None = None,
    sink: object | None = None,
    alert_store: AlertStore | None = None,
    targets: Callable[[ReportSettings], Sequence[Publisher]] = publishers,
) -> ReportScheduler:
    """The scheduler of ``config.reports``; its ticker defaults to an APScheduler thread every
    :data:`TICK_INTERVAL` seconds of ``clock``."""
    from alerting.tickers import SchedulerTicker

    return ReportScheduler(
        config,
        ticker=SchedulerTicker(TICK_INTERVAL, clock) if ticker is None else ticker,
        sink=sink,
        alert_store=alert_store,
        targets=targets,
    )
