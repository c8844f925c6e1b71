"""The health server over real HTTP on 127.0.0.1: /healthz, /readyz, /metrics."""

from __future__ import annotations

import json
from collections.abc import Sequence

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from monitor.health import HealthServer, metric_name
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
                "events_consumed", 120, {"topic": "predictions"}, help="Events consumed."
            ),
            CounterSample("events_consumed", 7, {"topic": "labels"}),
            CounterSample("events_invalid_total", 3, {"reason": "bad_json"}),
            CounterSample("pending_labels", 42, kind="gauge"),
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
            assert sorted(families["fairwatch_events_consumed"], key=str) == [
                ("fairwatch_events_consumed_total", {"topic": "labels"}, 7.0),
                ("fairwatch_events_consumed_total", {"topic": "predictions"}, 120.0),
            ]
            assert families["fairwatch_events_invalid"] == [
                ("fairwatch_events_invalid_total", {"reason": "bad_json"}, 3.0)
            ]
            assert families["fairwatch_pending_labels"] == [("fairwatch_pending_labels", {}, 42.0)]
            assert "# HELP fairwatch_events_consumed_total Events consumed." in response.text
            assert "process_resident_memory_bytes" in response.text
            assert client.get("/nope").status_code == 404

            pipeline.values = [CounterSample("events_consumed", 121, {"topic": "predictions"})]
            assert _families(client.get("/metrics").text)["fairwatch_events_consumed"] == [
                ("fairwatch_events_consumed_total", {"topic": "predictions"}, 121.0)
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
                        CounterSample("orphan_labels", 1),
                        CounterSample(
                            "orphan_labels", 2
                        ),  # the same series again: the last value wins
                        CounterSample("bad name!", 1),  # not a Prometheus name: skipped, not fatal
                        CounterSample("lag", 1, {"bad-label": "x"}, kind="gauge"),
                    ]
                )
            )
            text = client.get("/metrics").text
            assert "fairwatch_orphan_labels_total 2.0" in text
            assert "fairwatch_orphan_labels_total 1.0" not in text
            assert "bad" not in text.replace("fairwatch_", "")
    finally:
        server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{server.port}/healthz", timeout=2)


@pytest.mark.parametrize(
    ("sample", "family"),
    [
        ("events_consumed", "fairwatch_events_consumed"),
        ("events_consumed_total", "fairwatch_events_consumed"),
        ("fairwatch_consumer_lag", "fairwatch_consumer_lag"),
    ],
)
def test_metric_names_are_prefixed_once(sample: str, family: str) -> None:
    assert metric_name(sample) == family
