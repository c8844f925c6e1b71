"""``fairwatch demo --short`` end to end: the injected drift fires an alert for sex, the alert
resolves after the drift ends, nothing fires before it, and a webhook on 127.0.0.1 receives the
real firing and resolve notifications."""

from __future__ import annotations

import contextlib
import io
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from fairwatch.cli import main
from monitor.sinks.embedded import EmbeddedSink

METRIC = "demographic_parity_difference"


class Inbox:
    """A webhook receiver on 127.0.0.1 that keeps every JSON body posted to it."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                inbox.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Run:
    code: int
    output: str
    out: Path
    report: dict[str, Any]
    webhook: list[dict[str, Any]]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    inbox = Inbox()
    out = tmp_path_factory.mktemp("demo")
    output = io.StringIO()
    try:
        with contextlib.redirect_stdout(output):
            code = main(["demo", "--short", "--out", str(out), "--webhook", inbox.url, "--plain"])
    finally:
        inbox.close()
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    yield Run(code, output.getvalue(), out, report, inbox.bodies)


def test_the_demo_ends_with_a_report(run: Run) -> None:
    assert run.code == 0
    report = run.out / "report.html"
    assert f"report: {report}" in run.output
    page = report.read_text(encoding="utf-8")
    assert page.count("<svg") >= 5  # disparity and rates per attribute, and the timeline
    assert "https://doi.org/10.24432/C5XW20" in page


def test_the_drift_fires_an_alert_for_sex_that_resolves_after_the_drift(run: Run) -> None:
    drift = run.report["drift"]
    assert (drift["attribute"], drift["group"]) == ("sex", "Female")
    harmed = [
        alert
        for alert in run.report["alerts"]
        if alert["attribute"] == "sex" and alert["metric"] == METRIC
    ]
    assert len(harmed) == 1, run.report["alerts"]
    alert = harmed[0]
    assert drift["start"] < alert["fired_at"] < drift["end"]
    assert alert["value_at_firing"] > run.report["threshold"]
    assert alert["resolved_at"] is not None
    assert alert["resolved_at"] > drift["end"]


def test_no_alert_fires_before_the_drift(run: Run) -> None:
    drift_start = run.report["drift"]["start"]
    assert run.report["alerts"], "the drift raised no alert at all"
    assert all(alert["fired_at"] > drift_start for alert in run.report["alerts"])


def test_the_sink_holds_the_breach_the_alert_was_about(run: Run) -> None:
    sink = EmbeddedSink(run.out / "fairwatch.sqlite")
    try:
        rows = sink.disparities(attribute="sex", metric=METRIC, window="12h/2h")
    finally:
        sink.close()
    drift = run.report["drift"]
    before = [row for row in rows if row["time"] <= drift["start"]]
    during = [row for row in rows if drift["start"] < row["time"] <= drift["end"]]
    assert before and all(row["status"] != "breach" for row in before)
    assert max(row["value"] for row in during) > 0.15


def test_the_webhook_receives_the_firing_and_then_the_resolve(run: Run) -> None:
    statuses = [body["status"] for body in run.webhook]
    assert statuses == ["firing", "resolved"], statuses
    firing, resolved = run.webhook
    for body in (firing, resolved):
        assert body["attribute"] == "sex"
        assert body["metric"] == METRIC
        assert body["rule"] == "selection-rate-parity"
        assert body["model_id"] == "adult-income"
    assert firing["fingerprint"] == resolved["fingerprint"]
    assert firing["value"] > 0.10 and resolved["value"] < 0.07
    assert {group["group"] for group in firing["groups"]} == {"Female", "Male"}
    assert run.report["notifications"] == run.webhook  # the report shows what was sent
