"""fairwatch's alert manager: rules, alert lifecycle, routing and receivers.

Wiring it into the daemon (the composition root, ``fairwatch/``)::

    from alerting import AlertManager, parse_alerting_config

    config = parse_alerting_config(document.get("alerting") or {})   # raises ConfigError
    manager = AlertManager(config, state_dir)     # opens <state_dir>/alerting.sqlite,
                                                  # reads receiver secrets from the environment
    manager.start()                               # apscheduler: tick(time.time()) every
                                                  # config.tick_interval seconds
                                                  # (start(clock=...) for another clock)
    pipeline.listeners.append(manager)            # EvaluationListener:
                                                  #   manager.on_evaluations(evaluations, now)
    counter_sources.append(manager)               # CounterSource: manager.samples()
    ...
    manager.stop()                                # on shutdown: scheduler, receivers, SQLite

* ``on_evaluations(evaluations, now)`` applies the rules and advances each alert instance's
  lifecycle; it does no network I/O (fast, safe to call on the pipeline's thread).
* ``tick(now)`` flushes alert groups whose timers are due (group_wait, group_interval,
  repeat_interval), queues notifications in the durable outbox and delivers what is due, with
  retries. ``start()`` calls it periodically; tests call it with explicit ``now``.
* State (alerts, notification log, outbox, Slack threads, cooldowns, silences) lives in SQLite
  under ``state_dir``: a new ``AlertManager`` on the same directory resumes without a duplicate
  page and still sends pending resolves. ``fairwatch silence`` edits silences in the same file.

See docs/alerting.md for the configuration, the lifecycle and each receiver's payload.
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
