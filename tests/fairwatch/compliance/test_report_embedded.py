"""``fairwatch report`` on a real run: a day of events replayed through the monitor of
``fairwatch run`` into the embedded sink and the alert store (``scenario.py``).

The report says what the stores hold: every figure checked here is read back from the sink's
rows or the alert store and from the generator's known values (group B selected at 0.1 from
10:00 to 14:00, half of every group otherwise; the alert fired at 10:26 and resolved at 14:56,
muted by ana's silence from 11:00 to 12:00). The same data give the same bytes, named by their
hash; the JSON follows its schema.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from alerting.store import AlertStore
from fairwatch.cli import main
from fairwatch.compliance.confighash import config_hash
from fairwatch.compliance.model import Report
from fairwatch.compliance.output import render
from fairwatch.compliance.period import Period, parse_time
from fairwatch.compliance.render_json import document
from fairwatch.compliance.schema import validate
from fairwatch.compliance.sources import EmbeddedReader
from fairwatch.compliance.stores import report_for
from monitor import __version__
from monitor.sinks.embedded import EmbeddedSink
from monitor.stream.counters import EVENTS_CONSUMED, EVENTS_INVALID, WATERMARK
from monitor.types import CounterSample
from tests.fairwatch.backtest.stream import HOUR, START
from tests.fairwatch.compliance.scenario import INVALID, PER_GROUP, SILENCE, Stored

DAY = Period(START, START + 24 * HOUR)


@pytest.fixture(scope="module")
def report(stored: Stored) -> Report:
    return report_for(stored.config, DAY)


@pytest.fixture(scope="module")
def data(report: Report) -> dict[str, Any]:
    return document(report)


@pytest.fixture(scope="module")
def sink(stored: Stored) -> Any:
    opened = EmbeddedSink(stored.sink_path)
    yield opened
    opened.close()


def series(data: dict[str, Any], window: str) -> dict[str, Any]:
    [model] = data["models"]
    [attribute] = model["attributes"]
    [found] = [item for item in attribute["windows"] if item["window"] == window]
    return found


def verdict(data: dict[str, Any], window: str, end: str) -> dict[str, Any]:
    [found] = [v for v in series(data, window)["verdicts"] if v["window_end"] == end]
    return found


def test_the_json_follows_its_schema(data: dict[str, Any]) -> None:
    parsed = validate(json.loads(json.dumps(data)))
    assert parsed.schema_ == "fairwatch.report/1" and parsed.source == "embedded"


def test_every_window_that_ended_in_the_day_is_there_as_stored(
    data: dict[str, Any], sink: EmbeddedSink
) -> None:
    for window, expected in (("1h/5m", 288), ("1h", 24)):
        stored_ends = {
            row["time"]
            for row in sink.disparities(model_id="credit", window=window)
            if DAY.start < row["time"] <= DAY.end
        }
        assert len(stored_ends) == expected
        assert series(data, window)["windows_in_period"] == expected
    # the last hour's window had not closed when the stream ended: the report says so
    assert [v["closed"] for v in series(data, "1h")["verdicts"]] == [True] * 23 + [False]


def test_a_window_in_the_drop_has_its_counts_rates_and_verdicts(
    data: dict[str, Any], sink: EmbeddedSink
) -> None:
    window = verdict(data, "1h/5m", "2026-01-05T12:00:00Z")
    groups = {group["group"]: group for group in window["groups"]}
    panes = 12  # 5-minute panes in an hour
    assert groups["A"]["n"] == groups["B"]["n"] == panes * PER_GROUP
    assert groups["A"]["predicted_positive"] == panes * PER_GROUP // 2
    assert groups["B"]["predicted_positive"] == panes * round(0.1 * PER_GROUP)
    assert groups["B"]["rates"]["selection_rate"] == pytest.approx(0.1)
    disparities = {(d["metric"], d["group"]): d for d in window["disparities"]}
    parity = disparities[("demographic_parity_difference", None)]
    assert parity["value"] == pytest.approx(0.4) and parity["status"] == "breach"
    [row] = [
        row
        for row in sink.disparities(
            model_id="credit", metric="demographic_parity_difference", window="1h/5m"
        )
        if row["time"] == START + 12 * HOUR
    ]
    assert parity["ci"] == [round(row["ci_low"], 6), round(row["ci_high"], 6)]
    assert parity["threshold"] == row["threshold"] and parity["mode"] == row["mode"]
    assert (parity["highest_group"], parity["lowest_group"]) == ("A", "B")


def test_each_metric_summary_counts_the_stored_verdicts(
    data: dict[str, Any], sink: EmbeddedSink
) -> None:
    rows = [
        row
        for row in sink.disparities(
            model_id="credit", metric="demographic_parity_difference", window="1h/5m"
        )
        if DAY.start < row["time"] <= DAY.end
    ]
    [summary] = [
        s
        for s in series(data, "1h/5m")["summary"]
        if s["metric"] == "demographic_parity_difference"
    ]
    for status in ("breach", "undecided", "ok", "not_computable"):
        assert summary["statuses"][status] == sum(1 for row in rows if row["status"] == status)
    assert summary["statuses"]["breach"] > 0 and summary["worst"]["value"] == pytest.approx(0.4)
    [run] = summary["breach_runs"]
    breaching = sorted(row["time"] for row in rows if row["status"] == "breach")
    assert run["windows"] == len(breaching)
    assert parse_time(run["first_window_end"]) == breaching[0]
    assert parse_time(run["last_window_end"]) == breaching[-1]


def test_label_coverage_counts_each_prediction_once(data: dict[str, Any]) -> None:
    for window in ("1h", "1h/5m"):  # sliding windows: every 12th, so none overlap
        coverage = series(data, window)["label_coverage"]
        assert coverage["windows"] == 24
        assert (coverage["from"], coverage["to"]) == (
            "2026-01-05T00:00:00Z",
            "2026-01-06T00:00:00Z",
        )
        groups = {group["group"]: group for group in coverage["groups"]}
        predictions = 24 * 12 * PER_GROUP
        assert groups["A"]["n"] == groups["B"]["n"] == predictions
        assert groups["A"]["n_labeled"] == predictions and groups["A"]["label_coverage"] == 1.0
        selected_b = 20 * 12 * PER_GROUP // 2 + 4 * 12 * round(0.1 * PER_GROUP)
        assert groups["B"]["predicted_positive"] == selected_b
        assert groups["B"]["selection_rate"] == pytest.approx(selected_b / predictions)


def test_the_alert_fired_and_resolved_when_the_store_says(
    data: dict[str, Any], stored: Stored, sink: EmbeddedSink
) -> None:
    [model] = data["models"]
    [alert] = model["alerts"]
    assert alert["rule"] == "selection-parity" and alert["severity"] == "warning"
    assert alert["fired_at"] == "2026-01-05T10:26:00Z"
    assert alert["resolved_at"] == "2026-01-05T14:56:00Z"
    assert alert["window_end_at_firing"] == "2026-01-05T10:25:00Z"
    [row] = [
        row
        for row in sink.disparities(
            model_id="credit", metric="demographic_parity_difference", window="1h/5m"
        )
        if row["time"] == START + 10 * HOUR + 25 * 60
    ]
    assert alert["value_at_firing"] == round(row["value"], 6)  # the window that fired it
    store = AlertStore(Path(stored.config.state_dir) / "alerting.sqlite")
    try:
        history = [(s.fingerprint, s.status) for s in store.alert_history()]
    finally:
        store.close()
    assert history == [(alert["fingerprint"], "firing"), (alert["fingerprint"], "resolved")]
    assert alert["silenced_by"] == [SILENCE.id]


def test_the_silence_says_who_why_what_and_when(data: dict[str, Any]) -> None:
    [silence] = data["silences"]
    assert silence == {
        "id": SILENCE.id,
        "created_by": "ana",
        "comment": "retraining in progress (FW-12)",
        "matchers": ["model_id=credit", "attribute=group"],
        "starts_at": "2026-01-05T11:00:00Z",
        "ends_at": "2026-01-05T12:00:00Z",
        "muted": [data["models"][0]["alerts"][0]["fingerprint"]],
    }


def test_data_quality_is_what_the_counters_say(data: dict[str, Any], sink: EmbeddedSink) -> None:
    quality = data["data_quality"]
    assert quality["rejected"] == [
        {"topic": "predictions", "reason": "prediction_not_binary", "count": INVALID}
    ]
    assert quality["rejected_total"] == quality["dead_lettered"] == INVALID
    assert quality["duplicates"] == {"label": 0, "prediction": 1}
    assert quality["incarnations"] == 1
    # per topic (one process run): the last value written before the end minus the last one
    # written before the start
    for topic in ("predictions", "labels"):
        samples = [s for s in sink.pipeline(EVENTS_CONSUMED.name) if s["topic"] == topic]

        def last(before: float, samples: list[dict[str, Any]] = samples) -> float:
            earlier = [s for s in samples if s["time"] < before]
            return max(earlier, key=lambda s: s["time"])["value"] if earlier else 0.0

        assert quality["consumed"][topic] == last(DAY.end) - last(DAY.start) > 0
    assert max(s["value"] for s in sink.pipeline(EVENTS_INVALID.name)) == INVALID


def test_the_configuration_and_version_in_force(data: dict[str, Any], stored: Stored) -> None:
    configuration = data["configuration"]
    assert configuration["sha256"] == config_hash(stored.config)
    assert configuration["windows"] == ["1h/5m", "1h"]
    assert configuration["engine"]["min_group_size"] == 30
    [rule] = configuration["rules"]
    assert rule["condition"] == "demographic_parity_difference > 0.1 (window=1h/5m)"
    assert rule["resolves_when"] == "<= 0.05" and rule["held_for"] == "2 evaluations"
    assert data["version"] == __version__
    assert data["period"] == {"from": "2026-01-05T00:00:00Z", "to": "2026-01-06T00:00:00Z"}


def test_the_same_data_give_the_same_bytes_named_by_their_hash(
    stored: Stored, report: Report
) -> None:
    for format in ("html", "json"):
        first = render(report, format)
        second = render(report_for(stored.config, DAY), format)  # gathered again, afresh
        assert first.content == second.content
        assert first.sha256 == hashlib.sha256(first.content).hexdigest()
        assert first.name == (
            f"fairwatch-report-all-2026-01-05_2026-01-06-{first.sha256[:12]}.{format}"
        )
    html = render(report, "html").content.decode()
    assert "<svg" in html and "dc:date" not in html  # figures inline, without a date


def test_the_command_writes_the_same_named_file_twice(
    stored: Stored, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = []
    for run in ("first", "second"):
        argv = ["report", "--config", str(stored.config_path), "--from", "2026-01-05"]
        argv += ["--to", "2026-01-06", "--model", "credit", "--format", "json"]
        assert main([*argv, "--output", str(tmp_path / run) + "/"]) == 0
        paths.append(Path(capsys.readouterr().out.strip()))
    first, second = paths
    assert first.name == second.name and first.read_bytes() == second.read_bytes()
    digest = hashlib.sha256(first.read_bytes()).hexdigest()
    assert first.name == f"fairwatch-report-credit-2026-01-05_2026-01-06-{digest[:12]}.json"
    assert json.loads(first.read_bytes())["model"] == "credit"


def test_a_period_without_data_is_an_empty_report(stored: Stored) -> None:
    later = Period(START + 3 * 24 * HOUR, START + 4 * 24 * HOUR)
    data = document(report_for(stored.config, later))
    assert data["models"] == [] and data["silences"] == []
    assert data["data_quality"]["rejected"] == [] and data["data_quality"]["incarnations"] == 0


def test_bad_arguments_and_a_missing_sink_are_one_line(
    stored: Stored, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["report", "--config", str(stored.config_path)]
    assert main([*base, "--from", "2026-01-06", "--to", "2026-01-05"]) == 2
    assert "the period is empty" in capsys.readouterr().err
    assert main([*base, "--from", "yesterday", "--to", "2026-01-05"]) == 2
    assert "--from: expected a date" in capsys.readouterr().err
    elsewhere = tmp_path / "elsewhere.yaml"
    text = stored.config_path.read_text().replace(str(stored.sink_path), str(tmp_path / "no.db"))
    elsewhere.write_text(text)
    assert (
        main(["report", "--config", str(elsewhere), "--from", "2026-01-05", "--to", "2026-01-06"])
        == 4
    )
    err = capsys.readouterr().err
    assert "does not exist" in err and len(err.splitlines()) == 1


def test_a_finished_period_does_not_change_as_the_daemon_goes_on(
    stored: Stored, tmp_path: Path
) -> None:
    morning = Period(START, START + 12 * HOUR)
    copy = tmp_path / "metrics.sqlite"
    with sqlite3.connect(stored.sink_path) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    before = render(report_for(stored.config, morning, reader=EmbeddedReader(copy)), "json")
    assert json.loads(before.content)["watermark"] == "2026-01-05T12:00:00Z"  # at most the end
    sink = EmbeddedSink(copy)  # two days later: event time has moved on, new counts written
    sink.write_pipeline(
        [
            CounterSample(WATERMARK.name, START + 48 * HOUR, {"instance": "i", "incarnation": "2"}),
            CounterSample(
                EVENTS_CONSUMED.name, 5.0, {"instance": "i", "incarnation": "2", "topic": "labels"}
            ),
        ],
        START + 48 * HOUR,
    )
    sink.close()
    after = render(report_for(stored.config, morning, reader=EmbeddedReader(copy)), "json")
    assert after.content == before.content and after.name == before.name
