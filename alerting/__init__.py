"""fairwatch's alert manager: rules, alert lifecycle, routing, the notification path and
receivers.

It is wired in one place, :func:`fairwatch.app.build_alerting` (the composition root,
``fairwatch/``; ``monitor/`` never imports ``alerting/``), for ``fairwatch run``, the replays
(``fairwatch demo``, ``fairwatch backtest``) and the tests::

    from fairwatch.app import build_alerting

    alerting = build_alerting(
        config,  # MonitorConfig: its alerting: section, state_dir, pipeline.alert_delay
        clock=time.time,  # the daemon's clock
        ticker=None,  # default SchedulerTicker(tick_interval, clock), an APScheduler thread;
                      # a replay passes its simulated clock (alerting.tickers.ManualTicker)
    )
    # the gate gets the watermark with each call and hands each closed window, once, to
    # alerting.manager.on_evaluations
    pipeline = Pipeline(config, store, [sink, alerting.gate])
    counter_sources.extend(alerting.counter_sources)  # the manager's and the gate's samples()
    alerting.resume(pipeline.watermark.value)  # skip windows judged before a restart, then
                                               # start the ticker: tick(now) periodically
    ...
    alerting.manager.stop()  # at shutdown: ticker, receivers, SQLite

``fairwatch.app.build_daemon`` does all of this for ``fairwatch run``.

* ``AlertManager.on_evaluations(evaluations, now, watermark)`` applies the rules and advances
  each alert instance's lifecycle; it does no network I/O (fast, safe to call on the pipeline's
  thread).
* ``AlertManager.tick(now)`` flushes alert groups whose timers are due (group_wait,
  group_interval, repeat_interval) through the notification path (``alerting.notify``: mute →
  dedup → snapshot → idempotency key → durable outbox) and delivers what is due, with retries.
  The injected ticker (``alerting.types.Ticker``) calls it; tests call it with explicit ``now``.
  The manager never reads a clock.
* An alert that starts firing on a rate of decisions of a model with scores carries threshold
  advice (``alerting.advice``: per-group thresholds that would bring the window back within the
  rule's clear threshold), shown by every receiver and, with ``alerting.advice.topic``,
  published to Kafka.
* State (alerts, notification log, outbox, Slack threads, cooldowns, silences) lives in SQLite
  under ``state_dir``: a new ``AlertManager`` on the same directory resumes without a duplicate
  page and still sends pending resolves. ``fairwatch silence`` edits silences in the same file.

Interfaces (receivers, stages, ticker, clock, store views) are in ``alerting.types``. See
docs/alerting.md for the configuration, the lifecycle and each receiver's payload.
"""

from alerting.config import AlertingConfig, parse_alerting_config
from alerting.errors import AlertingError, ConfigError, ReceiverError
from alerting.manager import AlertManager

__all__ = [
    "AlertManager",
    "AlertingConfig",
    "AlertingError",
    "ConfigError",
    "ReceiverError",
    "parse_alerting_config",
]
