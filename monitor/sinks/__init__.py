"""Where evaluated windows and operational counters are written: InfluxDB or embedded SQLite.

Both sinks implement :class:`monitor.types.MetricsSink` and write the same rows
(:mod:`monitor.sinks.points`), so they hold the same content.
"""
