"""Compliance reports over a period (``fairwatch report``, and the ``reports:`` schedule of
``fairwatch run``), made from what fairwatch stored.

* :mod:`~fairwatch.compliance.period`: the period (``[start, end)``, UTC), parsed or derived
  from a schedule.
* :mod:`~fairwatch.compliance.sources` and :mod:`~fairwatch.compliance.influx`: reading the
  metrics sink (embedded SQLite or InfluxDB with Flux); :mod:`~fairwatch.compliance.stores`
  opens what the configuration names.
* :mod:`~fairwatch.compliance.verdicts`, :mod:`~fairwatch.compliance.alerts`,
  :mod:`~fairwatch.compliance.quality`, :mod:`~fairwatch.compliance.confighash`: the parts of
  a report, and :mod:`~fairwatch.compliance.gather`, which puts them in a
  :class:`~fairwatch.compliance.model.Report`.
* :mod:`~fairwatch.compliance.render_json`, :mod:`~fairwatch.compliance.render_html` (with
  :mod:`~fairwatch.compliance.figures` and :mod:`~fairwatch.compliance.render_tables`) and
  :mod:`~fairwatch.compliance.output` (named by content hash, written atomically).
* :mod:`fairwatch.compliance.schedule`: the scheduled reports of ``fairwatch run``.

A report is deterministic: the same configuration and stored data give the same bytes.
"""
