"""The health server over real HTTP on 127.0.0.1: /healthz, /readyz, /metrics."""

from __future__ import annotations

import json
from collections.abc import Sequence

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from alerting.metrics import ALERTING_METRICS
from monitor.health import CounterCollector, HealthServer
from monitor.sinks.counters import SINK_METRICS
from monitor.stream.counters import DAEMON_METRICS, GATE_METRICS, PIPELINE_METRICS
from monitor.types import CounterSample


class Source:
    def __init__(self, samples: list[CounterSample]) -> None:
        self.values = samples

    def samples(self) -> Sequence[CounterSample]:
        return self.values


class BrokenSource:
    def samples(self) -> Sequence[CounterSample]:
        raise RuntimeError("boom")


def _families(text: str) -> dict[str, list[tuple[str, dict[str, str], float]]]:
    return {
        family.name: [(s.name, s.labels, s.value) for s in family.samples]
        for family in text_string_to_metric_families(text)
    }


def test_endpoints_answer_over_http() -> None:
    ready = {"consumer_assigned": False}
    pipeline = Source(
        [
            CounterSample(
                "fairwatch_pipeline_events_consumed_total",
                120,
                {"topic": "predictions"},
                help="Events consumed.",
            ),
            CounterSample("fairwatch_pipeline_events_consumed_total", 7, {"topic": "labels"}),
            CounterSample("fairwatch_pipeline_events_invalid_total", 3, {"reason": "bad_json"}),
            CounterSample("fairwatch_pipeline_predictions_awaiting_label", 42, kind="gauge"),
        ]
    )
    with HealthServer(
        host="127.0.0.1",
        port=0,
        sources=[pipeline, BrokenSource()],
        readiness={
            "consumer_assigned": lambda: ready["consumer_assigned"],
            "sink_reachable": lambda: True,
        },
    ) as server:
        assert server.port != 0
        with httpx.Client(base_url=server.url, timeout=5) as client:
            assert client.get("/healthz").status_code == 200

            not_ready = client.get("/readyz")
            assert not_ready.status_code == 503
            assert not_ready.json()["checks"] == {
                "consumer_assigned": False,
                "sink_reachable": True,
            }
            ready["consumer_assigned"] = True
            assert client.get("/readyz").status_code == 200

            response = client.get("/metrics")
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/plain")
            families = _families(response.text)
            assert sorted(families["fairwatch_pipeline_events_consumed"], key=str) == [
                ("fairwatch_pipeline_events_consumed_total", {"topic": "labels"}, 7.0),
                ("fairwatch_pipeline_events_consumed_total", {"topic": "predictions"}, 120.0),
            ]
            assert families["fairwatch_pipeline_events_invalid"] == [
                ("fairwatch_pipeline_events_invalid_total", {"reason": "bad_json"}, 3.0)
            ]
            assert families["fairwatch_pipeline_predictions_awaiting_label"] == [
                ("fairwatch_pipeline_predictions_awaiting_label", {}, 42.0)
            ]
            assert (
                "# HELP fairwatch_pipeline_events_consumed_total Events consumed." in response.text
            )
            assert "process_resident_memory_bytes" in response.text
            assert client.get("/nope").status_code == 404

            pipeline.values = [
                CounterSample(
                    "fairwatch_pipeline_events_consumed_total", 121, {"topic": "predictions"}
                )
            ]
            assert _families(client.get("/metrics").text)["fairwatch_pipeline_events_consumed"] == [
                ("fairwatch_pipeline_events_consumed_total", {"topic": "predictions"}, 121.0)
            ]


def test_failing_checks_make_probes_fail_and_sources_can_be_added_later() -> None:
    server = HealthServer(host="127.0.0.1", port=0, liveness={"main_loop": lambda: 1 / 0 > 0})
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=5) as client:
            health = client.get("/healthz")
            assert health.status_code == 503
            assert json.loads(health.text)["checks"] == {"main_loop": False}
            assert client.get("/readyz").status_code == 200  # no readiness checks: ready
            server.add_readiness("sink_reachable", lambda: False)
            assert client.get("/readyz").status_code == 503
            server.add_source(
                Source(
                    [
                        CounterSample("fairwatch_pipeline_labels_orphaned_total", 1),
                        # the same series again: the last value wins
                        CounterSample("fairwatch_pipeline_labels_orphaned_total", 2),
                        CounterSample("bad name!", 1),  # not a Prometheus name: skipped, not fatal
                        CounterSample("lag", 1, {"bad-label": "x"}, kind="gauge"),
                    ]
                )
            )
            text = client.get("/metrics").text
            assert "fairwatch_pipeline_labels_orphaned_total 2.0" in text
            assert "fairwatch_pipeline_labels_orphaned_total 1.0" not in text
            assert "bad" not in text.replace("fairwatch_", "")
    finally:
        server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{server.port}/healthz", timeout=2)


def test_metric_names_are_exported_as_declared_and_never_patched() -> None:
    """A sample keeps its declared name on /metrics: no prefix is added and no suffix removed
    or appended; a sample that breaks the convention (monitor.counters) is skipped, not fixed."""
    collector = CounterCollector(
        [
            Source(
                [
                    CounterSample("fairwatch_sink_rows_written_total", 5, {"sink": "influxdb"}),
                    CounterSample("fairwatch_sink_backlog_rows", 3, {"sink": "influxdb"}, "gauge"),
                    CounterSample("events_consumed", 1),  # a counter without _total
                    CounterSample("fairwatch_pipeline_lag_total", 1, kind="gauge"),  # gauge _total
                ]
            )
        ]
    )
    exported = {
        sample.name: (family.name, family.type, sample.value)
        for family in collector.collect()
        for sample in family.samples
    }
    assert exported == {
        "fairwatch_build_info": ("fairwatch_build_info", "gauge", 1.0),
        "fairwatch_sink_rows_written_total": ("fairwatch_sink_rows_written", "counter", 5.0),
        "fairwatch_sink_backlog_rows": ("fairwatch_sink_backlog_rows", "gauge", 3.0),
    }


def test_every_declared_metric_is_a_valid_prometheus_family() -> None:
    """Each declared counter is exported as one counter family named without ``_total`` (its
    samples with it), each gauge under its own name, with the declared help text."""
    metrics = [*PIPELINE_METRICS, *DAEMON_METRICS, *GATE_METRICS, *SINK_METRICS, *ALERTING_METRICS]
    labels = {name: "x" for metric in metrics for name in metric.labels}
    source = Source([m.sample(1, **{name: labels[name] for name in m.labels}) for m in metrics])
    families = {family.name: family for family in CounterCollector([source]).collect()}
    for metric in metrics:
        family = families[metric.name.removesuffix("_total")]
        assert (family.type, family.documentation) == (metric.kind, metric.help)
        assert [sample.name for sample in family.samples] == [metric.name]
