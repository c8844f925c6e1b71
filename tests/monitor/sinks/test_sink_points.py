"""Rows of the InfluxDB schema: tags, field types, undefined values, identity."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from influxdb_client import Point, WritePrecision

from monitor.engine.results import Disparity, WindowEvaluation
from monitor.sinks.line_protocol import to_line_protocol
from monitor.sinks.points import (
    CLEARABLE_FIELDS,
    DISPARITY_MEASUREMENT,
    FIELD_TYPES,
    GROUP_MEASUREMENT,
    PIPELINE_MEASUREMENT,
    RATES,
    Row,
    evaluation_rows,
    influx_row,
    pipeline_rows,
)
from monitor.types import CounterSample
from tests.monitor.sinks.sink_builders import make_evaluation, make_group


def test_group_rows_carry_tags_counts_rates_and_intervals(evaluation: WindowEvaluation) -> None:
    rows = [row for row in evaluation_rows([evaluation]) if row.measurement == GROUP_MEASUREMENT]
    female = next(row for row in rows if row.tags["group"] == "Female")
    assert dict(female.tags) == {
        "model_id": "credit",
        "attribute": "sex",
        "group": "Female",
        "window": "1h",
    }
    assert female.time == evaluation.window_end
    assert female.fields["n"] == 120 and female.fields["tp"] == 20
    assert female.fields["tpr"] == 20 / 30
    assert female.fields["tpr_ci_low"] == 20 / 30 - 0.05
    assert female.fields["label_coverage"] == 90 / 120


def test_field_types_never_vary() -> None:
    # whole-number rates (0.0, 1.0) must still be floats, counts ints, so InfluxDB never conflicts
    group = make_group("sex", "Male", n=10, tp=5, fp=0, tn=5, fn=0)
    evaluation = make_evaluation()
    evaluation = WindowEvaluation(
        "m",
        "1h",
        0.0,
        3600.0,
        (group,),
        (Disparity("sex", "demographic_parity_difference", 0, 0, 1, 10, "ok", 1),),
    )
    for row in evaluation_rows([evaluation]):
        for name, value in row.fields.items():
            assert type(value) is FIELD_TYPES[row.measurement][name], (row.measurement, name)
    line = to_line_protocol(evaluation_rows([evaluation])[0])
    assert "fpr=0," in line and "n=10i" in line and "tpr=1," in line


def test_undefined_values_are_omitted_not_zero() -> None:
    group = make_group("race", "Black", n=10, tp=0, fp=0, tn=0, fn=0)
    rates = {**group.rates, "selection_rate": math.nan}
    evaluation = WindowEvaluation(
        "m",
        "1h",
        0.0,
        3600.0,
        (type(group)(**{**group.__dict__, "rates": rates}),),
        (
            Disparity(
                "race", "equalized_odds_difference", None, None, None, 10, "not_computable", 0.1
            ),
        ),
    )
    group_row, disparity_row = evaluation_rows([evaluation])
    for rate in RATES:
        assert rate not in group_row.fields and f"{rate}_ci_low" not in group_row.fields
    assert "label_coverage" in group_row.fields and group_row.fields["label_coverage"] == 0.0
    assert set(disparity_row.fields) == {"min_group_n", "status", "mode", "threshold"}
    assert disparity_row.fields["status"] == "not_computable"


def test_disparity_tags_include_the_group_only_when_set(
    evaluation: WindowEvaluation,
) -> None:
    rows = [r for r in evaluation_rows([evaluation]) if r.measurement == DISPARITY_MEASUREMENT]
    by_metric = {row.tags["metric"]: row for row in rows}
    assert "group" not in by_metric["demographic_parity_difference"].tags
    ratio = by_metric["selection_rate_ratio_to_reference"]
    assert ratio.tags["group"] == "Female" and ratio.fields["reference_group"] == "Male"
    # the reference group is a field: another reference in a later evaluation of the window
    # replaces the row instead of leaving one per reference behind
    assert "reference_group" not in ratio.tags
    assert ratio.fields["value"] == 0.85 and ratio.fields["threshold"] == 0.8


def test_disparity_rows_name_the_extremes_and_small_groups_as_fields() -> None:
    odds = Disparity(
        "race", "equalized_odds_difference", 0.214, 0.18, 0.25, 966, "breach", 0.1,
        rate="fpr", highest_group="African-American", highest_rate=0.448,
        lowest_group="Caucasian", lowest_rate=0.235, small_groups=("Asian", "Native American"),
    )  # fmt: skip
    evaluation = WindowEvaluation("m", "1h", 0.0, 3600.0, (), (odds,))
    (row,) = evaluation_rows([evaluation])
    assert row.fields["rate"] == "fpr"
    assert (row.fields["highest_group"], row.fields["highest_rate"]) == ("African-American", 0.448)
    assert (row.fields["lowest_group"], row.fields["lowest_rate"]) == ("Caucasian", 0.235)
    assert row.fields["small_groups"] == "Asian, Native American"
    # fields, not tags: the series of a disparity keeps its identity whoever is highest
    assert set(row.tags) == {"model_id", "attribute", "window", "metric"}
    for name, value in row.fields.items():
        assert type(value) is FIELD_TYPES[DISPARITY_MEASUREMENT][name], name
    line = to_line_protocol(row)
    assert 'highest_group="African-American"' in line and "lowest_rate=0.235" in line


def test_influxdb_gets_an_empty_value_for_each_field_a_rewrite_may_drop() -> None:
    """A window's second evaluation without small groups must replace the first one's list in
    InfluxDB, which keeps a field a rewrite leaves out: the row written there says ``""``."""
    early = Disparity(
        "sex", "demographic_parity_difference", 0.12, 0.05, 0.2, 20, "ok", 0.1,
        rate="selection_rate", highest_group="Male", highest_rate=0.4, lowest_group="Female",
        lowest_rate=0.28, small_groups=("Other",), reference_group="Male",
    )  # fmt: skip
    later = Disparity(
        "sex", "demographic_parity_difference", 0.12, 0.05, 0.2, 40, "ok", 0.1,
        rate="selection_rate", highest_group="Male", highest_rate=0.4, lowest_group="Female",
        lowest_rate=0.28,
    )  # fmt: skip
    starved = Disparity(
        "sex", "demographic_parity_difference", None, None, None, 3, "not_computable", 0.1
    )
    rows = [
        evaluation_rows([WindowEvaluation("m", "1h", 0.0, 3600.0, (), (disparity,))])[0]
        for disparity in (early, later, starved)
    ]
    assert influx_row(rows[0]) == rows[0]  # nothing missing: the row as it is
    assert "small_groups" not in rows[1].fields  # the row itself says none, as before
    written = influx_row(rows[1])
    assert written.fields == {**rows[1].fields, "small_groups": "", "reference_group": ""}
    assert written.identity() == rows[1].identity()
    assert 'small_groups=""' in to_line_protocol(written)
    cleared = influx_row(rows[2]).fields
    assert all(cleared[name] == "" for name in CLEARABLE_FIELDS[DISPARITY_MEASUREMENT])
    for measurement, names in CLEARABLE_FIELDS.items():  # strings only: "" is no type conflict
        assert all(FIELD_TYPES[measurement][name] is str for name in names)
    group_row = evaluation_rows([make_evaluation()])[0]
    assert influx_row(group_row) is group_row  # group rows lose no field on a rewrite


def test_extra_labels_become_tags_but_never_override_core_tags() -> None:
    evaluation = make_evaluation()
    evaluation = WindowEvaluation(
        evaluation.model_id,
        evaluation.window,
        evaluation.window_start,
        evaluation.window_end,
        evaluation.groups,
        evaluation.disparities,
        labels={"instance": "a", "model_id": "spoofed", "empty": ""},
    )
    row = evaluation_rows([evaluation])[0]
    assert row.tags["instance"] == "a" and row.tags["model_id"] == "credit"
    assert row.tags["empty"] == "(empty)"


def test_same_window_written_twice_has_the_same_identity() -> None:
    first = evaluation_rows([make_evaluation(selection_gap=0.05)])
    second = evaluation_rows([make_evaluation(selection_gap=0.2)])
    assert [row.identity() for row in first] == [row.identity() for row in second]
    assert first[3].fields != second[3].fields
    later = evaluation_rows([make_evaluation(window_end=1_700_007_200.0)])
    assert first[0].identity() != later[0].identity()


def test_pipeline_rows_group_samples_by_labels() -> None:
    samples = [
        CounterSample("fairwatch_pipeline_events_consumed_total", 10, {"topic": "predictions"}),
        CounterSample("fairwatch_pipeline_events_late_total", 2, {"topic": "predictions"}),
        CounterSample("fairwatch_pipeline_events_invalid_total", 3, {"reason": "bad_json"}),
        CounterSample(
            "fairwatch_pipeline_events_invalid_total", 1, {"reason": "bad_json"}
        ),  # later value wins
        CounterSample(
            "fairwatch_pipeline_consumer_lag_records", math.inf, {}, kind="gauge"
        ),  # not finite: left out
        CounterSample("fairwatch_pipeline_predictions_awaiting_label", 7, {}, kind="gauge"),
    ]
    rows = pipeline_rows(samples, now=1000.5)
    by_tags = {tuple(sorted(row.tags.items())): row for row in rows}
    assert all(row.measurement == PIPELINE_MEASUREMENT and row.time == 1000.5 for row in rows)
    assert by_tags[(("topic", "predictions"),)].fields == {
        "fairwatch_pipeline_events_consumed_total": 10.0,
        "fairwatch_pipeline_events_late_total": 2.0,
    }
    assert by_tags[(("reason", "bad_json"),)].fields == {
        "fairwatch_pipeline_events_invalid_total": 1.0
    }
    assert by_tags[()].fields == {"fairwatch_pipeline_predictions_awaiting_label": 7.0}
    assert all(type(v) is float for row in rows for v in row.fields.values())


def test_line_protocol_escapes_tags_and_uses_nanoseconds() -> None:
    group = make_group("race&sex", "Black Female,x=1")
    evaluation = WindowEvaluation("m 1", "1d/1h", 0.0, 1_700_000_000.25, (group,), ())
    line = to_line_protocol(evaluation_rows([evaluation])[0])
    assert line.startswith("fairness_group,attribute=race&sex,group=Black\\ Female\\,x\\=1,")
    assert "model_id=m\\ 1" in line and "window=1d/1h" in line
    assert line.endswith(" 1700000000250000000")


@settings(max_examples=300, deadline=None)
@given(
    measurement=st.sampled_from(["fairness_group", "fairwatch_pipeline", "m x,y"]),
    tags=st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=12), max_size=4),
    fields=st.dictionaries(
        st.text(min_size=1, max_size=8),
        st.one_of(
            st.integers(-(2**62), 2**62),
            st.floats(allow_nan=True),
            st.text(max_size=10),
            st.booleans(),
        ),
        min_size=1,
        max_size=5,
    ),
    time=st.floats(min_value=0, max_value=4e9, allow_nan=False),
)
def test_line_protocol_equals_influxdb_clients_point(
    measurement: str,
    tags: dict[str, str],
    fields: dict[str, Any],
    time: float,
) -> None:
    row = Row(measurement, tags, fields, time)
    point = Point(measurement)
    for key, value in tags.items():
        point.tag(key, value)
    for name, value in fields.items():
        point.field(name, value)
    point.time(row.time_ns(), WritePrecision.NS)
    assert to_line_protocol(row) == point.to_line_protocol()
