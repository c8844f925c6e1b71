"""Render fairwatch's counting tier as a Flink SQL statement set, from ``fairwatch.yaml``.

The job reads the predictions and labels topics, validates each record as the decoder does
(:mod:`fairwatch.flink.contract`), sends the rejected ones byte for byte to the dead-letter topic
with their reason in headers, keeps the first prediction and the first label of each
``prediction_id`` (keyed deduplication), joins labels to predictions within the label horizon,
and keeps **pane counts** up to date in an upsert Kafka topic keyed by the pane key
``(model_id, pane_seconds, pane_start, attribute, group_name)``: ``n``, ``predicted_positive``,
``tp``, ``fp``, ``tn``, ``fn`` and the score histogram, exactly what the in-process pipeline adds
into its panes (summed over input partitions), with the **event-time progress** of each
partition of the predictions topic beside them (:mod:`fairwatch.flink.panes`). ``pane_seconds``
is a window specification's step; specifications with the same step share panes; a window of
``size/step`` is the sum of its ``size / step`` panes.

Why SQL, and not a PyFlink program reusing the decoder as a vectorised UDF: the SQL is plain
text that every Flink offering runs as it is (the SQL client, the SQL gateway, the Kubernetes
operator's SQL runner, the managed services that take pasted SQL), with no Python in the
TaskManagers, no fairwatch wheel to ship to a cluster and no pins of PyFlink's (pandas,
pyarrow, apache-beam) meeting fairwatch's. Deduplication, the interval join and the grouped
aggregate are Flink's own operators, with their state in RocksDB, checkpointed exactly once and
cleaned by the state TTL. The price is the contract: SQL says less about a bad message than the
decoder does, and the reasons it cannot reproduce are listed in :mod:`fairwatch.flink.contract`.

How it counts (and why it is exact):

- Deduplication keeps the first row per ``prediction_id`` in processing order (``ROW_NUMBER``
  over a processing-time attribute): an insert-only stream, as in-process the first one wins.
  Both topics are keyed by ``prediction_id``, so a key's records are read in partition order.
- A prediction adds ``n``, ``predicted_positive`` and, when it carries its label, the confusion
  cell. A label joins the first prediction of its id that carried no label, when both arrived
  within ``label_horizon`` of each other (a processing-time interval join: an early label waits
  for its prediction as in-process), and adds the confusion cell to the prediction's panes.
  Both inputs of the aggregate are insert-only, so the pane counts only ever grow.
- State TTL: the deduplication keeps ids for the label horizon plus the largest window and the
  allowed lateness, and so does the aggregate (each update restarts a pane's TTL; a pane is
  updated last by a label at most one horizon after its last prediction). Processing time, not
  event time: a job that runs more than that far behind its input would forget state it still
  needs (see docs/scaling.md).
- Exactly once: checkpoints are exactly once and both sinks write Kafka transactions committed
  with each checkpoint (``delivery`` ``exactly-once``; readers use ``read_committed``). After a
  failure the job restarts from the last checkpoint: its state and source offsets are those of
  the checkpoint, and what it had written since is aborted, so nothing is lost or counted
  twice. With ``at-least-once`` the records written since the checkpoint are written again;
  each is then a pane's (or a partition's) complete value, not an increment, so the latest
  value per key is still exact, but a reader can see a value go back until the job has caught
  up again.
"""

from __future__ import annotations

from dataclasses import dataclass

from fairwatch.flink import contract, panes
from fairwatch.flink.contract import Field
from fairwatch.flink.sql import double, duration, literal
from fairwatch.flink.tables import sink_tables, source_table
from monitor.config import MonitorConfig

#: Seconds between checkpoints: with exactly-once delivery, how long before counts are visible.
DEFAULT_CHECKPOINT_INTERVAL = 5.0
DELIVERY_GUARANTEES = ("exactly-once", "at-least-once")
PREDICTION_FIELDS = (
    Field("prediction_id", ("prediction_id",), text=True),
    Field("model_id", ("model_id",), text=True),
    Field("timestamp", ("timestamp",), text=True),
    Field("score", ("score",)),
    Field("prediction", ("prediction",)),
    Field("label", ("label",)),
    Field("sensitive", ("sensitive",)),
)
LABEL_FIELDS = (
    Field("prediction_id", ("prediction_id",), text=True),
    Field("label", ("label",)),
    Field("timestamp", ("timestamp",), text=True),
)


@dataclass(frozen=True)
class JobOptions:
    """What the job needs beyond ``fairwatch.yaml``."""

    pane_topic: str | None = None  # default: kafka.pane_topic
    group_id: str | None = None  # default: kafka.group_id + "-flink"
    job_name: str = "fairwatch-pane-counts"
    parallelism: int | None = None
    checkpoint_interval: float = DEFAULT_CHECKPOINT_INTERVAL  # seconds
    delivery: str = "exactly-once"  # or "at-least-once" (see docs/scaling.md)
    transactional_id_prefix: str | None = None  # default: the group id

    def __post_init__(self) -> None:
        if self.delivery not in DELIVERY_GUARANTEES:
            raise ValueError(
                f"delivery: one of {', '.join(DELIVERY_GUARANTEES)}, got {self.delivery!r}"
            )
        if self.parallelism is not None and self.parallelism < 1:
            raise ValueError(f"parallelism: at least 1, got {self.parallelism}")
        if not self.checkpoint_interval > 0:
            raise ValueError(f"checkpoint interval: above 0 s, got {self.checkpoint_interval}")


def decode_views(kind: str, fields: tuple[Field, ...], max_event_bytes: int) -> list[str]:
    records = f"fairwatch_{kind}_records"
    return [
        contract.fields_view(f"fairwatch_{kind}_bytes", records),
        contract.kinds_view(
            f"fairwatch_{kind}_json", f"fairwatch_{kind}_bytes", fields, max_event_bytes
        ),
        contract.typed_view(f"fairwatch_{kind}_typed", f"fairwatch_{kind}_json", fields),
        *contract.event_time_views(
            f"fairwatch_{kind}_fields", f"fairwatch_{kind}_typed", "timestamp"
        ),
    ]


def prediction_checks_view(config: MonitorConfig) -> str:
    attributes = list(dict.fromkeys(config.sensitive.attributes))
    checks = contract.record_checks(config.pipeline.max_event_bytes)
    checks += contract.string_checks("prediction_id") + contract.string_checks("model_id")
    if config.models and not config.accept_unknown_models:
        checks.append(f"WHEN {contract.in_models(list(config.models))} THEN 'unknown_model'")
    checks += contract.timestamp_checks(required=True)
    checks += [
        "WHEN score_kind NOT IN ('absent', 'null', 'number') THEN 'wrong_type'",
        "WHEN score_kind = 'number' AND (score_number IS NULL OR "
        "score_number = CAST('Infinity' AS DOUBLE) OR score_number = CAST('-Infinity' AS DOUBLE))"
        " THEN 'non_finite_score'",
        "WHEN score_kind = 'number' AND (score_number < 0 OR score_number > 1) "
        "THEN 'score_out_of_range'",
    ]
    checks += contract.binary_checks("prediction", "prediction_not_binary")
    checks.append(
        "WHEN prediction_kind IN ('absent', 'null') AND score_kind IN ('absent', 'null') "
        "THEN 'missing_field'"
    )
    checks += contract.binary_checks("label", "label_not_binary")
    checks += [
        "WHEN sensitive_kind IN ('absent', 'null') THEN 'missing_field'",
        "WHEN sensitive_kind <> 'object' THEN 'wrong_type'",
        "WHEN sensitive_json = '[{}]' THEN 'missing_field'",
    ]
    for index in range(len(attributes)):
        checks += [
            f"WHEN group_{index}_kind IN ('absent', 'null') THEN 'missing_attribute'",
            f"WHEN group_{index}_kind <> 'string' THEN 'wrong_type'",
        ]
    skew = double(config.pipeline.max_clock_skew)
    checks.append(
        f"WHEN event_time > CAST(UNIX_TIMESTAMP() AS DOUBLE) + {skew} THEN 'future_timestamp'"
    )
    threshold = contract.threshold_case(config.thresholds, config.default_threshold)
    decision = (
        "CASE WHEN prediction_kind IN ('boolean', 'number') THEN "
        f"{contract.binary_value('prediction')} "
        f"WHEN score_number >= {threshold} THEN 1 ELSE 0 END"
    )
    columns = [
        f"{contract.reason_case(checks)} AS reason",
        "record_key",
        "record_value",
        "source_partition",
        "source_offset",
        "arrived",
        "prediction_id_text AS prediction_id",
        "model_id_text AS model_id",
        "event_time",
        f"{decision} AS decision",
        "score_number AS score",
        f"{contract.binary_value('label')} AS label",
    ]
    columns += [
        f"{contract.group_value(f'group_{index}_text')} AS group_{index}"
        for index in range(len(attributes))
    ]
    body = ",\n  ".join(columns)
    return (
        "CREATE TEMPORARY VIEW fairwatch_prediction_checks AS\n"
        f"SELECT\n  {body}\nFROM fairwatch_prediction_fields;"
    )


def label_checks_view(config: MonitorConfig) -> str:
    checks = contract.record_checks(config.pipeline.max_event_bytes)
    checks += contract.string_checks("prediction_id")
    checks += [
        "WHEN label_kind IN ('absent', 'null') THEN 'missing_field'",
        *contract.binary_checks("label", "label_not_binary"),
    ]
    checks += contract.timestamp_checks(required=False)
    columns = [
        f"{contract.reason_case(checks)} AS reason",
        "record_key",
        "record_value",
        "source_partition",
        "source_offset",
        "arrived",
        "prediction_id_text AS prediction_id",
        f"{contract.binary_value('label')} AS label",
    ]
    body = ",\n  ".join(columns)
    return (
        "CREATE TEMPORARY VIEW fairwatch_label_checks AS\n"
        f"SELECT\n  {body}\nFROM fairwatch_label_fields;"
    )


def dead_letter_insert(kind: str, topic: str) -> str:
    header = "CAST({} AS STRING), ENCODE({}, 'UTF-8')"
    headers = ", ".join(
        header.format(literal(name), value)
        for name, value in (
            ("fairwatch.reason", "reason"),
            ("fairwatch.detail", contract.details_case()),
            ("fairwatch.source.topic", literal(topic)),
            ("fairwatch.source.partition", "CAST(source_partition AS STRING)"),
            ("fairwatch.source.offset", "CAST(source_offset AS STRING)"),
        )
    )
    return f"""INSERT INTO fairwatch_dead_letters
SELECT record_key, record_value, MAP[{headers}]
FROM fairwatch_{kind}_checks
WHERE reason IS NOT NULL;"""


def state_ttl(config: MonitorConfig) -> float:
    """Seconds of processing time a key's state is kept after its last update."""
    largest = max(spec.size for spec in config.windows)
    return config.label_horizon + largest + config.allowed_lateness


def render(config: MonitorConfig, job: JobOptions | None = None) -> str:
    """The whole job: settings, tables, views and one statement set (``sql-client.sh -f``)."""
    job = job or JobOptions()
    kafka = config.kafka
    group_id = job.group_id or f"{kafka.group_id}-flink"
    attributes = list(dict.fromkeys(config.sensitive.attributes))
    groups = tuple(
        Field(f"group_{index}", ("sensitive", name), text=True)
        for index, name in enumerate(attributes)
    )
    settings = {
        "pipeline.name": job.job_name,
        "table.local-time-zone": "UTC",
        "table.exec.state.ttl": duration(state_ttl(config)),
        "table.exec.sink.upsert-materialize": "NONE",
        "execution.checkpointing.mode": "EXACTLY_ONCE",
        "execution.checkpointing.interval": duration(job.checkpoint_interval),
        "execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION",
        # the SQL operators never keep a row they were handed: no copy between chained ones
        "pipeline.object-reuse": "true",
    }
    if job.parallelism is not None:
        settings["parallelism.default"] = str(job.parallelism)
    statements = [f"SET {literal(key)} = {literal(value)};" for key, value in settings.items()]
    statements += [
        source_table("fairwatch_prediction_records", kafka.predictions_topic, group_id, config),
        source_table("fairwatch_label_records", kafka.labels_topic, group_id, config),
        sink_tables(config, job, group_id),
        *decode_views("prediction", PREDICTION_FIELDS + groups, config.pipeline.max_event_bytes),
        prediction_checks_view(config),
        *decode_views("label", LABEL_FIELDS, config.pipeline.max_event_bytes),
        label_checks_view(config),
        *panes.counting_views(config),
        panes.progress_view(kafka.predictions_topic),
    ]
    inserts = [
        dead_letter_insert("prediction", kafka.predictions_topic),
        dead_letter_insert("label", kafka.labels_topic),
        panes.pane_insert(config),
    ]
    header = (
        "-- fairwatch pane counts: rendered by `fairwatch flink render` from the fairwatch "
        "configuration.\n-- Submit with bin/sql-client.sh -f THIS_FILE (see docs/scaling.md)."
    )
    body = "\n\n".join(statements)
    statement_set = "EXECUTE STATEMENT SET\nBEGIN\n\n" + "\n\n".join(inserts) + "\n\nEND;\n"
    return f"{header}\n\n{body}\n\n{statement_set}"
