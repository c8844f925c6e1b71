"""fairwatch's counting tier as an Apache Flink SQL job (``fairwatch flink render|submit``).

- :mod:`fairwatch.flink.job`: the statement set rendered from ``fairwatch.yaml`` (why SQL).
- :mod:`fairwatch.flink.contract`: the event contract as SQL views, and what SQL cannot say.
- :mod:`fairwatch.flink.panes`: deduplication, the join, pane counts and event-time progress.
- :mod:`fairwatch.flink.tables`: the Kafka sources and sinks.
- :mod:`fairwatch.flink.submit`: the SQL client that submits it.
"""
