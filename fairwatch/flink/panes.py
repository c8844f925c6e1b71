"""The counting half of the Flink job: deduplication, the label join, pane counts with their
score histograms, event-time progress, and the one aggregate that writes them.

Pane counts and progress go to the pane topic through **one** aggregate and one sink: one
``GROUP BY`` over the union of a row per (counted event, pane) and a row per prediction record,
keyed by the record's Kafka key (JSON text). One sink writes them (``sink.parallelism`` 1), in
one Kafka transaction per checkpoint when the delivery is exactly once, so that a progress
record is never visible (``read_committed``) before the pane counts it covers. The aggregate's
key is the sink's key, so the planner sends upserts only (no retraction reaches the topic as a
tombstone). Keys are JSON text built once per event (``JSON_STRING`` escapes the strings);
values are written by the ``json`` format without their null members, when the sink flushes
its buffer of the latest value per key (not on every update):

- a **pane**: key ``{"attribute", "group_name", "model_id", "pane_seconds", "pane_start"}``,
  value ``n``, ``predicted_positive``, ``tp``, ``fp``, ``tn``, ``fn``, ``score_histogram``
  (``[[label 0 counts per bin], [label 1 counts per bin]]``), ``score_offsets`` (per bin, the
  sum of the labeled scores' offsets from the bin's centre in micro-units) and
  ``score_predictions`` (per bin, the predictions counted with a score, labeled or not): the
  fields of a
  :class:`monitor.engine.counts.GroupCounts`;
- the **progress** of a partition of the predictions topic: key ``{"partition", "progress"}``
  (``progress``: the predictions topic), value ``event_time`` (the largest event time, epoch
  seconds, of the predictions counted from that partition; absent before the first) and
  ``offset`` (the last offset read from it, counted or rejected).

The histogram is the in-process one (:func:`monitor.engine.counts.count_batch`), with the same
floating-point operations: a labeled row with a score ``s`` falls in bin ``b`` with
``b / bins <= s < (b + 1) / bins`` (1 in the last; :func:`monitor.engine.counts.layout.score_bin`)
and adds ``rint((s − (b + ½) / bins) · 10⁶)`` (round half to
even) to the bin's offset sum, so the integers are the ones counted in-process.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from fairwatch.flink.sql import double, interval, literal
from monitor.config import MonitorConfig
from monitor.engine.counts import SCORE_SCALE
from monitor.engine.groups import SEPARATOR, intersection_name

COUNT_SUMS = {
    "n": "SUM(n)",
    "predicted_positive": "SUM(CASE WHEN n = 1 AND decision = 1 THEN 1 ELSE 0 END)",
    "tp": "SUM(CASE WHEN decision = 1 AND label = 1 THEN 1 ELSE 0 END)",
    "fp": "SUM(CASE WHEN decision = 1 AND label = 0 THEN 1 ELSE 0 END)",
    "tn": "SUM(CASE WHEN decision = 0 AND label = 0 THEN 1 ELSE 0 END)",
    "fn": "SUM(CASE WHEN decision = 0 AND label = 1 THEN 1 ELSE 0 END)",
}
#: Four sums per bin in one aggregate: planning time and the aggregate's state grow with the bins
#: (100 bins run; the job's planning then takes 46 s instead of 25 s on a small machine).
MAX_FLINK_SCORE_BINS = 100
PROGRESS_COLUMNS = "CAST(NULL AS DOUBLE) AS event_time, CAST(NULL AS BIGINT) AS source_offset"
NO_COUNTS = (
    "0 AS n, CAST(NULL AS INT) AS decision, CAST(NULL AS INT) AS label, "
    "CAST(NULL AS INT) AS score_bin, CAST(0 AS BIGINT) AS score_offset, "
    "CAST(NULL AS INT) AS prediction_bin"
)


def counting_views(config: MonitorConfig) -> list[str]:
    """First predictions and labels, the join, the score bins, and a row per pane."""
    attributes = list(dict.fromkeys(config.sensitive.attributes))
    groups = [f"group_{index}" for index in range(len(attributes))]
    carried = ", ".join(["model_id", "event_time", "decision", "score", "label", *groups])
    horizon = interval(config.label_horizon)
    steps = sorted({spec.step for spec in config.windows})
    first = """CREATE TEMPORARY VIEW fairwatch_first_{kind}s AS
SELECT {columns} FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY prediction_id ORDER BY arrived ASC) AS occurrence
  FROM fairwatch_{kind}_checks
  WHERE reason IS NULL
)
WHERE occurrence = 1;"""
    joined = ["p.model_id", "p.event_time", "p.decision", "p.score", "l.label"]
    joined += [f"p.{g}" for g in groups]
    rows = pane_key_rows(attributes, config.sensitive.intersections, steps, "c.")
    return [
        first.format(
            kind="prediction", columns=f"prediction_id, arrived, source_partition, {carried}"
        ),
        first.format(kind="label", columns="prediction_id, arrived, label"),
        f"""CREATE TEMPORARY VIEW fairwatch_joined_labels AS
SELECT {", ".join(joined)}
FROM fairwatch_first_predictions AS p, fairwatch_first_labels AS l
WHERE p.prediction_id = l.prediction_id
  AND p.label IS NULL
  AND l.arrived BETWEEN p.arrived - {horizon} AND p.arrived + {horizon};""",
        f"""CREATE TEMPORARY VIEW fairwatch_counted AS
SELECT 1 AS n, {carried} FROM fairwatch_first_predictions
UNION ALL
SELECT 0 AS n, {carried} FROM fairwatch_joined_labels;""",
        *score_views(config.engine.score_bins),
        f"""CREATE TEMPORARY VIEW fairwatch_pane_rows AS
SELECT
  g.key_prefix || CAST(FLOOR(c.event_time / g.pane_seconds) * g.pane_seconds AS STRING) || '}}'
    AS record_key,
  c.n, c.decision, c.label, c.score_bin, c.score_offset, c.prediction_bin
FROM fairwatch_scored AS c
CROSS JOIN UNNEST({rows}) AS g (key_prefix, pane_seconds);""",
    ]


def pane_key_rows(
    attributes: Sequence[str],
    intersections: Sequence[Sequence[str]],
    pane_sizes: Sequence[float],
    qualifier: str = "",
) -> str:
    """``ARRAY[ROW(key prefix, pane size), ...]``, a row per pane size and per attribute and
    intersection (named ``a&b``, its group ``x&y`` in the members' sorted order, as
    :mod:`monitor.engine.groups` names them): one ``CROSS JOIN UNNEST`` spreads an event over
    its panes. The prefix is the pane key up to its ``pane_start``."""
    column_of = {name: f"{qualifier}group_{index}" for index, name in enumerate(attributes)}
    groups = [(name, column_of[name]) for name in attributes]
    seen = set(attributes)
    for members in intersections:
        name = intersection_name(members)
        if name in seen:
            continue
        seen.add(name)
        value = f" || {literal(SEPARATOR)} || ".join(column_of[m] for m in sorted(set(members)))
        groups.append((name, value))
    rows = []
    for size in pane_sizes:
        for name, value in groups:
            head = "{" + json_member("attribute", name) + ',"group_name":'
            middle = ',"model_id":'
            tail = "," + json_member("pane_seconds", size) + ',"pane_start":'
            prefix = (
                f"{literal(head)} || JSON_STRING({value}) || {literal(middle)} || "
                f"{qualifier}model_json || {literal(tail)}"
            )
            rows.append(f"ROW({prefix}, {double(size)})")
    return "ARRAY[" + ", ".join(rows) + "]"


def json_member(name: str, value: object) -> str:
    return f"{json.dumps(name)}:{json.dumps(value)}"


def score_views(bins: int) -> list[str]:
    """``score_bin`` and ``score_offset`` of each labeled row with a score (else NULL and 0), as
    :func:`monitor.engine.counts.count_batch` computes them, in double precision throughout."""
    if not 1 <= bins <= MAX_FLINK_SCORE_BINS:
        raise ValueError(
            f"engine.score_bins: the Flink job keeps at most {MAX_FLINK_SCORE_BINS} score bins "
            f"(four sums per bin in one aggregate), got {bins}"
        )
    width = double(float(bins))
    half = double(0.5)
    scaled = (
        f"(score - (CAST(score_bin AS DOUBLE) + {half}) / {width}) * {double(float(SCORE_SCALE))}"
    )
    below = "FLOOR(offset_scaled)"
    fraction = f"offset_scaled - {below}"
    rint = (
        f"CAST(CASE WHEN {fraction} > {half} THEN {below} + 1 "
        f"WHEN {fraction} < {half} THEN {below} "
        f"WHEN MOD(CAST({below} AS BIGINT), 2) = 0 THEN {below} "
        f"ELSE {below} + 1 END AS BIGINT)"
    )
    # floor(s · bins), then corrected against the edges b / bins (monitor.engine.counts.layout.
    # score_bin): 0.58 · 50 = 28.999… is bin 29, as 0.58 >= 29 / 50
    edge = f"CAST(score_floor + {{}} AS DOUBLE) / {width}"
    corrected = (
        f"score_floor - CASE WHEN score < {edge.format(0)} THEN 1 ELSE 0 END "
        f"+ CASE WHEN score >= {edge.format(1)} THEN 1 ELSE 0 END"
    )
    # RAND() < 2 (always true) keeps Flink from inlining a column into each use of it
    return [
        f"""CREATE TEMPORARY VIEW fairwatch_floored AS
SELECT *,
  CASE WHEN RAND() < 2 THEN JSON_STRING(model_id) END AS model_json,
  CASE WHEN RAND() < 2 AND score IS NOT NULL
    THEN LEAST(GREATEST(CAST(score * {width} AS INT), 0), {bins - 1}) END AS score_floor
FROM fairwatch_counted;""",
        f"""CREATE TEMPORARY VIEW fairwatch_celled AS
SELECT *, CASE WHEN RAND() < 2 THEN LEAST(GREATEST({corrected}, 0), {bins - 1}) END AS score_cell
FROM fairwatch_floored;""",
        # the labeled histogram's bin (a label counted), the predictions' (a prediction counted)
        """CREATE TEMPORARY VIEW fairwatch_binned AS
SELECT *,
  CASE WHEN RAND() < 2 AND label IS NOT NULL THEN score_cell END AS score_bin,
  CASE WHEN RAND() < 2 AND n = 1 THEN score_cell END AS prediction_bin
FROM fairwatch_celled;""",
        f"""CREATE TEMPORARY VIEW fairwatch_offsets AS
SELECT *, CASE WHEN RAND() < 2 THEN {scaled} END AS offset_scaled
FROM fairwatch_binned;""",
        f"""CREATE TEMPORARY VIEW fairwatch_scored AS
SELECT *, CASE WHEN score_bin IS NULL THEN CAST(0 AS BIGINT) ELSE {rint} END AS score_offset
FROM fairwatch_offsets;""",
    ]


def progress_view(topic: str) -> str:
    """A row per prediction record read (its offset) and per prediction counted (its event
    time), keyed by the progress key of its partition."""
    key = (
        f"'{{\"partition\":' || CAST(source_partition AS STRING) || "
        f"{literal(',' + json_member('progress', topic) + '}')}"
    )
    return f"""CREATE TEMPORARY VIEW fairwatch_progress_rows AS
SELECT {key} AS record_key, {NO_COUNTS}, event_time, CAST(NULL AS BIGINT) AS source_offset
FROM fairwatch_first_predictions
UNION ALL
SELECT {key} AS record_key, {NO_COUNTS}, CAST(NULL AS DOUBLE) AS event_time, source_offset
FROM fairwatch_prediction_checks;"""


def aggregate_columns(bins: int) -> list[str]:
    """The six counts, per bin the label-0 and label-1 counts and the offset sum, then the
    progress."""
    columns = [f"CAST({sql} AS BIGINT) AS {name}" for name, sql in COUNT_SUMS.items()]
    for label in (0, 1):
        columns += [
            f"CAST(SUM(CASE WHEN label = {label} AND score_bin = {b} THEN 1 ELSE 0 END) "
            f"AS BIGINT) AS histogram_{label}_{b}"
            for b in range(bins)
        ]
    columns += [
        f"CAST(SUM(CASE WHEN score_bin = {b} THEN score_offset ELSE 0 END) AS BIGINT) "
        f"AS offsets_{b}"
        for b in range(bins)
    ]
    columns += [
        f"CAST(SUM(CASE WHEN prediction_bin = {b} THEN 1 ELSE 0 END) AS BIGINT) AS predictions_{b}"
        for b in range(bins)
    ]
    return [*columns, "MAX(event_time) AS event_time", "MAX(source_offset) AS source_offset"]


def pane_insert(config: MonitorConfig) -> str:
    """The one statement writing pane counts and progress to the pane topic."""
    bins = config.engine.score_bins
    histogram = ", ".join(
        "ARRAY[" + ", ".join(f"histogram_{label}_{b}" for b in range(bins)) + "]"
        for label in (0, 1)
    )
    offsets = ", ".join(f"offsets_{b}" for b in range(bins))
    predictions = ", ".join(f"predictions_{b}" for b in range(bins))
    pane = "source_offset IS NULL"
    values = [f"CASE WHEN {pane} THEN {name} END AS {name}" for name in COUNT_SUMS]
    values += [
        f"CASE WHEN {pane} THEN ARRAY[{histogram}] END AS score_histogram",
        f"CASE WHEN {pane} THEN ARRAY[{offsets}] END AS score_offsets",
        f"CASE WHEN {pane} THEN ARRAY[{predictions}] END AS score_predictions",
        "event_time",
        "source_offset",
    ]
    columns = ",\n    ".join(aggregate_columns(bins))
    written = ",\n  ".join(values)
    return f"""INSERT INTO fairwatch_pane_counts
SELECT
  record_key,
  {written}
FROM (
  SELECT
    record_key,
    {columns}
  FROM (
    SELECT record_key, n, decision, label, score_bin, score_offset, prediction_bin,
      {PROGRESS_COLUMNS}
    FROM fairwatch_pane_rows
    UNION ALL
    SELECT * FROM fairwatch_progress_rows
  )
  GROUP BY record_key
);"""
