"""Scheduled compliance reports (the ``reports:`` section, run inside ``fairwatch run``).

* :mod:`~fairwatch.compliance.schedule.plan`: when a schedule fired (APScheduler's cron
  trigger, UTC) and which periods are due, pure functions of the last run and ``now``.
* :mod:`~fairwatch.compliance.schedule.runs`: the record of what was made and posted (SQLite
  under ``state_dir``), which makes every run idempotent.
* :mod:`~fairwatch.compliance.schedule.publish`: Slack (a file upload) and webhook posts.
* :mod:`~fairwatch.compliance.schedule.scheduler`: :class:`ReportScheduler`, driven by a ticker
  on an injected clock (``alerting.tickers``), wired by ``fairwatch.app.build_daemon``.
"""
