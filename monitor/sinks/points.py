"""Rows written by every sink: the InfluxDB schema, in one place.

A :class:`Row` is one point: a measurement, its tags, its fields and its time (epoch seconds).
Both the InfluxDB sink and the embedded SQLite sink write exactly these rows, so the two hold the
same content. The schema (documented in ``docs/influxdb-schema.md``):

``fairness_group``
    tags ``model_id``, ``attribute``, ``group``, ``window`` (plus the evaluation's extra labels);
    integer fields ``n``, ``n_labeled``, ``predicted_positive``, ``tp``, ``fp``, ``tn``, ``fn``;
    float fields ``label_coverage``, ``ece``, ``calibration_gap`` and every rate with
    ``<rate>_ci_low`` / ``<rate>_ci_high``; time = window end.
``fairness_disparity``
    tags ``model_id``, ``attribute``, ``window``, ``metric`` and, where set, ``group``; float
    fields ``value``, ``ci_low``, ``ci_high``, ``threshold``, ``highest_rate``, ``lowest_rate``;
    integer field ``min_group_n``; string fields ``status``, ``mode``, ``reference_group``,
    ``rate``, ``highest_group``, ``lowest_group`` and ``small_groups`` (names joined by ``", "``;
    omitted when none, and written to InfluxDB as ``""``: see :data:`CLEARABLE_FIELDS`); time =
    window end. The reference group and the extremes are fields, not
    tags: the most favoured group (the default reference) and the highest and lowest groups
    change from one evaluation of a window to the next, and as tags they would change the row's
    identity, leaving the earlier evaluation's row behind instead of replacing it.
``fairwatch_pipeline``
    tags = the sample's labels; one float field per sample name
    (``fairwatch_pipeline_events_consumed_total=1200``); samples with the same labels share a
    point; time = when the samples were taken.

Undefined values (``None``, NaN, infinities) are omitted, never written as 0. Field types never
vary: counts are always ``int``, rates and intervals always ``float``, so InfluxDB never sees a
type conflict. A row's identity is (measurement, tags, time): writing the same window again
replaces its values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from monitor.engine.results import Disparity, GroupResult, WindowEvaluation
from monitor.types import CounterSample

GROUP_MEASUREMENT = "fairness_group"
DISPARITY_MEASUREMENT = "fairness_disparity"
PIPELINE_MEASUREMENT = "fairwatch_pipeline"

RATES: tuple[str, ...] = (
    "selection_rate",
    "tpr",
    "fpr",
    "fnr",
    "tnr",
    "ppv",
    "npv",
    "accuracy",
    "base_rate",
)
GROUP_COUNT_FIELDS: tuple[str, ...] = (
    "n",
    "n_labeled",
    "predicted_positive",
    "tp",
    "fp",
    "tn",
    "fn",
)
GROUP_TAGS: tuple[str, ...] = ("model_id", "attribute", "group", "window")
DISPARITY_TAGS: tuple[str, ...] = ("model_id", "attribute", "window", "metric", "group")

#: Field name -> Python type, per measurement: the single source of truth for field types.
FIELD_TYPES: dict[str, dict[str, type]] = {
    GROUP_MEASUREMENT: {
        **{name: int for name in GROUP_COUNT_FIELDS},
        "label_coverage": float,
        "ece": float,
        "calibration_gap": float,
        **{f"{rate}{suffix}": float for rate in RATES for suffix in ("", "_ci_low", "_ci_high")},
    },
    DISPARITY_MEASUREMENT: {
        "value": float,
        "ci_low": float,
        "ci_high": float,
        "threshold": float,
        "min_group_n": int,
        "status": str,
        "mode": str,
        "reference_group": str,
        "rate": str,
        "highest_group": str,
        "highest_rate": float,
        "lowest_group": str,
        "lowest_rate": float,
        "small_groups": str,
    },
}

#: String fields a later evaluation of the same window may no longer have (the groups that were
#: small early in a window's life have grown; the extremes of a disparity that is no longer
#: computable). InfluxDB keeps a field that a rewrite of the point leaves out, so the InfluxDB
#: sink writes each of them that a row lacks as ``""`` (:func:`influx_row`), which replaces the
#: old value; readers take ``""`` as none. The embedded sink replaces whole rows and needs none.
CLEARABLE_FIELDS: dict[str, tuple[str, ...]] = {
    DISPARITY_MEASUREMENT: (
        "reference_group",
        "rate",
        "highest_group",
        "lowest_group",
        "small_groups",
    ),
}
#: Tag values must not be empty (InfluxDB drops empty tags, which would change a row's identity).
EMPTY_TAG_VALUE = "(empty)"

FieldValue = int | float | str


@dataclass(frozen=True)
class Row:
    """One point of one measurement; ``time`` is epoch seconds."""

    measurement: str
    tags: Mapping[str, str]
    fields: Mapping[str, FieldValue]
    time: float

    def identity(self) -> tuple[str, tuple[tuple[str, str], ...], int]:
        """What a later write of the same point replaces: measurement, tags and time."""
        return (self.measurement, tuple(sorted(self.tags.items())), self.time_ns())

    def time_ns(self) -> int:
        """The time as integer nanoseconds, rounded to the microsecond (exact for epoch floats)."""
        return round(self.time * 1_000_000) * 1000


def influx_row(row: Row) -> Row:
    """``row`` as written to InfluxDB: each field of :data:`CLEARABLE_FIELDS` it lacks as ``""``,
    so that rewriting a window replaces what an earlier evaluation of it said."""
    clearable = CLEARABLE_FIELDS.get(row.measurement)
    if not clearable or all(name in row.fields for name in clearable):
        return row
    fields: dict[str, FieldValue] = {name: "" for name in clearable if name not in row.fields}
    fields.update(row.fields)
    return Row(row.measurement, row.tags, fields, row.time)


def _float_or_none(value: float | int | None) -> float | None:
    """``float(value)``, or ``None`` when undefined or not finite (undefined is never 0)."""
    if value is None or isinstance(value, bool):
        return None
    result = float(value)
    return result if math.isfinite(result) else None


def _tags(pairs: Iterable[tuple[str, str | None]], extra: Mapping[str, str]) -> dict[str, str]:
    """Tags from the core ``pairs`` (``None`` values left out) plus ``extra`` labels.

    Core tags win over extra labels of the same name, so a label can never change a row's meaning.
    """
    tags: dict[str, str] = {}
    for key, value in extra.items():
        tags[str(key)] = str(value) or EMPTY_TAG_VALUE
    for key, core in pairs:
        if core is not None:
            tags[key] = core or EMPTY_TAG_VALUE
    return tags


def group_row(evaluation: WindowEvaluation, group: GroupResult) -> Row:
    """The ``fairness_group`` row of one group of one evaluated window."""
    fields: dict[str, FieldValue] = {
        "n": int(group.n),
        "n_labeled": int(group.n_labeled),
        "predicted_positive": int(group.predicted_positive),
        "tp": int(group.tp),
        "fp": int(group.fp),
        "tn": int(group.tn),
        "fn": int(group.fn),
    }
    for name, raw in (
        ("label_coverage", group.label_coverage),
        ("ece", group.ece),
        ("calibration_gap", group.calibration_gap),
    ):
        value = _float_or_none(raw)
        if value is not None:
            fields[name] = value
    for rate in RATES:
        value = _float_or_none(group.rates.get(rate))
        if value is None:
            continue
        fields[rate] = value
        interval = group.intervals.get(rate)
        if interval is not None:
            low, high = _float_or_none(interval[0]), _float_or_none(interval[1])
            if low is not None and high is not None:
                fields[f"{rate}_ci_low"] = low
                fields[f"{rate}_ci_high"] = high
    tags = _tags(
        (
            ("model_id", evaluation.model_id),
            ("attribute", group.attribute),
            ("group", group.group),
            ("window", evaluation.window),
        ),
        evaluation.labels,
    )
    return Row(GROUP_MEASUREMENT, tags, fields, float(evaluation.window_end))


def disparity_row(evaluation: WindowEvaluation, disparity: Disparity) -> Row:
    """The ``fairness_disparity`` row of one disparity of one evaluated window."""
    fields: dict[str, FieldValue] = {
        "min_group_n": int(disparity.min_group_n),
        "status": str(disparity.status),
        "mode": str(disparity.mode),
    }
    for name, text in (
        ("reference_group", disparity.reference_group),
        ("small_groups", ", ".join(disparity.small_groups) or None),
        ("rate", disparity.rate),
        ("highest_group", disparity.highest_group),
        ("lowest_group", disparity.lowest_group),
    ):
        if text is not None:
            fields[name] = str(text)
    for name, raw in (
        ("value", disparity.value),
        ("ci_low", disparity.ci_low),
        ("ci_high", disparity.ci_high),
        ("threshold", disparity.threshold),
        ("highest_rate", disparity.highest_rate),
        ("lowest_rate", disparity.lowest_rate),
    ):
        value = _float_or_none(raw)
        if value is not None:
            fields[name] = value
    tags = _tags(
        (
            ("model_id", evaluation.model_id),
            ("attribute", disparity.attribute),
            ("window", evaluation.window),
            ("metric", disparity.metric),
            ("group", disparity.group),
        ),
        evaluation.labels,
    )
    return Row(DISPARITY_MEASUREMENT, tags, fields, float(evaluation.window_end))


def evaluation_rows(evaluations: Iterable[WindowEvaluation]) -> list[Row]:
    """Every ``fairness_group`` and ``fairness_disparity`` row of the given evaluations."""
    rows: list[Row] = []
    for evaluation in evaluations:
        rows.extend(group_row(evaluation, group) for group in evaluation.groups)
        rows.extend(disparity_row(evaluation, disparity) for disparity in evaluation.disparities)
    return rows


def pipeline_rows(samples: Sequence[CounterSample], now: float) -> list[Row]:
    """``fairwatch_pipeline`` rows: one per distinct label set, one float field per sample name.

    A later sample with the same name and labels wins; non-finite values are left out.
    """
    by_labels: dict[tuple[tuple[str, str], ...], dict[str, FieldValue]] = {}
    for sample in samples:
        value = _float_or_none(sample.value)
        if value is None:
            continue
        key = tuple(sorted((str(k), str(v) or EMPTY_TAG_VALUE) for k, v in sample.labels.items()))
        by_labels.setdefault(key, {})[sample.name] = value
    return [
        Row(PIPELINE_MEASUREMENT, dict(key), fields, float(now))
        for key, fields in by_labels.items()
        if fields
    ]
