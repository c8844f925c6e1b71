"""monitor.counters: the naming convention a Metric enforces, and the Counters store."""

from __future__ import annotations

import threading

import pytest

from alerting.metrics import ALERTING_METRICS
from monitor.counters import Counters, Metric
from monitor.health import BUILD_INFO
from monitor.sinks.counters import SINK_METRICS
from monitor.stream.counters import (
    CONSUMER_LAG,
    CONSUMPTION_PAUSED,
    DAEMON_METRICS,
    EVENTS_DEAD_LETTERED,
    EVENTS_DUPLICATE,
    GATE_METRICS,
    PIPELINE_METRICS,
    WATERMARK,
    DaemonCounters,
    PipelineCounters,
)
from monitor.types import CounterSample

ALL = (
    *PIPELINE_METRICS,
    *DAEMON_METRICS,
    *GATE_METRICS,
    *SINK_METRICS,
    *ALERTING_METRICS,
    BUILD_INFO,
)
EVENTS = Metric("fairwatch_test_events_total", "counter", "Events.", ("topic", "reason"))
LAG = Metric("fairwatch_test_lag_records", "gauge", "Lag.", ("topic",))


@pytest.mark.parametrize(
    ("name", "kind", "labels", "problem"),
    [
        ("events_consumed_total", "counter", (), "not prefixed"),
        ("fairwatch_events_consumed", "counter", (), "a counter without _total"),
        ("fairwatch_pipeline_lag_total", "gauge", (), "a gauge with _total"),
        ("fairwatch_pipeline_Lag", "gauge", (), "not snake case"),
        ("fairwatch_pipeline_lag", "histogram", (), "an unknown kind"),
        ("fairwatch_pipeline_lag", "gauge", ("topic", "topic"), "a repeated label"),
        ("fairwatch_pipeline_lag", "gauge", ("bad-label",), "an invalid label"),
    ],
)
def test_a_metric_breaking_the_convention_is_refused(
    name: str, kind: str, labels: tuple[str, ...], problem: str
) -> None:
    with pytest.raises(ValueError, match=name):
        Metric(name, kind, "help", labels)  # type: ignore[arg-type]


def test_every_declared_metric_has_a_unique_name_and_its_unit_in_the_name() -> None:
    names = [metric.name for metric in ALL]
    assert len(names) == len(set(names)), "a metric is declared twice"
    for metric in ALL:
        assert metric.name.split("_")[1] in {"pipeline", "sink", "alert", "build"}, metric.name
    # what is measured in time or in a countable unit says so
    assert WATERMARK.name.endswith("_seconds")
    assert CONSUMER_LAG.name.endswith("_records")


def test_samples_carry_the_declared_name_kind_help_and_exactly_the_declared_labels() -> None:
    assert EVENTS.sample(3, topic="t", reason="r") == CounterSample(
        "fairwatch_test_events_total", 3.0, {"topic": "t", "reason": "r"}, "counter", "Events."
    )
    with pytest.raises(ValueError, match="declared"):
        EVENTS.sample(3, topic="t")
    with pytest.raises(ValueError, match="declared"):
        EVENTS.sample(3, topic="t", reason="r", extra="x")


def test_counters_count_by_labels_and_report_in_declaration_order() -> None:
    counters = Counters([LAG, EVENTS])
    counters.inc(EVENTS, topic="b", reason="x")
    counters.inc(EVENTS, 2, topic="a", reason="x")
    counters.inc(EVENTS, 4, topic="a", reason="y")
    counters.inc(EVENTS, topic="b", reason="x")
    assert counters.get(EVENTS, topic="b", reason="x") == 2
    assert counters.get(EVENTS, topic="c", reason="x") == 0  # never counted: 0
    assert counters.by(EVENTS, "topic") == {"a": 6, "b": 2}
    assert counters.by(EVENTS, "reason") == {"x": 4, "y": 4}
    assert counters.total(EVENTS) == 8 and counters.total(LAG) == 0
    counters.replace(LAG, {"p": 7, "q": 1})
    counters.replace(LAG, {"p": 5})  # a topic no longer reported disappears
    assert [(s.name, s.labels, s.value) for s in counters.samples()] == [
        ("fairwatch_test_lag_records", {"topic": "p"}, 5.0),
        ("fairwatch_test_events_total", {"topic": "a", "reason": "x"}, 2.0),
        ("fairwatch_test_events_total", {"topic": "a", "reason": "y"}, 4.0),
        ("fairwatch_test_events_total", {"topic": "b", "reason": "x"}, 2.0),
    ]
    with pytest.raises(ValueError, match="declared"):
        counters.inc(EVENTS, topic="a")
    with pytest.raises(ValueError, match="one label"):
        counters.replace(EVENTS, {"a": 1})


def test_counters_are_safe_to_increment_from_several_threads() -> None:
    counters = Counters()

    def work() -> None:
        for _ in range(2000):
            counters.inc(EVENTS, topic="t", reason="r")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counters.get(EVENTS, topic="t", reason="r") == 8000


def test_pipeline_counters_report_every_known_series_from_the_start() -> None:
    """Unlabelled metrics and both duplicate kinds are reported at 0 before anything happened
    (so a rate over them is 0, not missing); the watermark only once there is one."""
    samples = {(s.name, tuple(s.labels.values())): s for s in PipelineCounters().samples()}
    expected = {
        (metric.name, ())
        for metric in PIPELINE_METRICS
        if not metric.labels and metric != WATERMARK
    } | {(EVENTS_DUPLICATE.name, (kind,)) for kind in ("prediction", "label")}
    assert set(samples) == expected
    assert all(sample.value == 0 for sample in samples.values())


def test_daemon_counters_report_the_dead_letters_and_the_pause_from_the_start() -> None:
    """The daemon's own counters: dead letters and the pause at 0 before anything happened, the
    lag by topic once it is known."""
    counters = DaemonCounters()
    samples = {(s.name, tuple(s.labels.values())): s.value for s in counters.samples()}
    assert samples == {(EVENTS_DEAD_LETTERED.name, ()): 0, (CONSUMPTION_PAUSED.name, ()): 0}
    counters.replace(CONSUMER_LAG, {"predictions": 3})
    assert counters.series(CONSUMER_LAG) == {("predictions",): 3}
    assert not set(DAEMON_METRICS) & set(PIPELINE_METRICS)
