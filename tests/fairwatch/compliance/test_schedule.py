"""Scheduled reports (the ``reports:`` section) on an injected clock: no sleep, no wall time.

The scheduler is driven by a :class:`~alerting.tickers.ManualTicker` (the clock and the ticker,
as a replay drives the alert manager); Slack (``files_upload_v2``: get an upload URL, upload,
complete) and the webhook are real HTTP servers on 127.0.0.1. The data are the replayed day of
``scenario.py`` (Mon 05 Jan 2026); the weekly schedule fires on Mondays at 06:00 UTC.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import orjson
import pytest

from alerting.tickers import ManualTicker
from fairwatch.app import build_daemon, load
from fairwatch.compliance.confighash import config_hash
from fairwatch.compliance.period import format_time, parse_time
from fairwatch.compliance.schedule.runs import ReportRuns
from fairwatch.compliance.schedule.scheduler import ReportScheduler, build_reports
from monitor.config import MonitorConfig
from monitor.stream.decode import Record
from monitor.stream.memory import EmbeddedSource, MemoryDeadLetters
from tests.alerting.alert_servers import RecordingServer, Reply, Request
from tests.fairwatch.backtest.stream import make_events
from tests.fairwatch.compliance.scenario import Stored

TOKEN = "xoxb-report-test"
MINUTE = 60.0


def slack_files_api(token: str, server: Callable[[], str], fail_first: int = 0) -> Any:
    """Slack's file upload in three calls (``files.getUploadURLExternal``, the upload itself,
    ``files.completeUploadExternal``); the first ``fail_first`` completions answer an error."""
    completions = 0

    def respond(request: Request, index: int) -> Reply:
        nonlocal completions
        if request.path.startswith("/upload/"):
            return Reply(200, b"OK")
        if request.headers.get("Authorization") != f"Bearer {token}":
            return Reply(200, {"ok": False, "error": "invalid_auth"})
        if request.path == "/api/files.getUploadURLExternal":
            return Reply(
                200,
                {
                    "ok": True,
                    "upload_url": f"{server()}/upload/v1/F{index}",
                    "file_id": f"F{index}",
                },
            )
        if request.path == "/api/files.completeUploadExternal":
            completions += 1
            if completions <= fail_first:
                return Reply(200, {"ok": False, "error": "channel_not_found"})
            files = json.loads(form(request)["files"])
            return Reply(200, {"ok": True, "files": files})
        return Reply(404, {"ok": False, "error": "unknown_method"})

    return respond


def form(request: Request) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(request.body.decode()).items()}


@dataclass
class Setup:
    config: MonitorConfig
    directory: Path
    slack: RecordingServer
    webhook: RecordingServer

    def scheduler(
        self, start: float, every: float = MINUTE
    ) -> tuple[ReportScheduler, ManualTicker]:
        ticker = ManualTicker(start, every)
        return build_reports(self.config, clock=ticker, ticker=ticker), ticker

    def uploads(self) -> list[dict[str, str]]:
        return [
            form(request)
            for request in self.slack.requests
            if request.path == "/api/files.completeUploadExternal"
        ]

    def posts(self) -> list[dict[str, Any]]:
        return [request.json() for request in self.webhook.requests]

    def files(self) -> list[Path]:
        return sorted(self.directory.glob("*.html"))


def run_for(scheduler: ReportScheduler, ticker: ManualTicker, seconds: float) -> None:
    """Start, let ``seconds`` pass on the ticker (ticking every minute), stop: a daemon's life."""
    scheduler.start(lambda _end: True)
    try:
        ticker.advance(ticker.now + seconds)
    finally:
        scheduler.stop()


REPORTS = """
reports:
  - name: weekly-credit
    schedule: weekly
    models: [credit]
    directory: {directory}
    public_url: https://reports.example.com/fairwatch/
    slack: {{channel: C0REPORTS, token_env: REPORT_TEST_SLACK_TOKEN, base_url: "{slack}/api/"}}
    webhook: {{url_env: REPORT_TEST_WEBHOOK_URL}}
"""


@pytest.fixture
def setup_factory(
    stored: Stored, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Setup]]:
    servers: list[RecordingServer] = []

    def make(fail_first: int = 0) -> Setup:
        folder = tmp_path / f"setup-{len(servers) // 2}"
        slack = RecordingServer(lambda request, index: Reply())
        slack.responder = slack_files_api(TOKEN, lambda: slack.url, fail_first)
        webhook = RecordingServer(lambda request, index: Reply(200, {"ok": True}))
        servers.extend([slack, webhook])
        monkeypatch.setenv("REPORT_TEST_SLACK_TOKEN", TOKEN)
        monkeypatch.setenv("REPORT_TEST_WEBHOOK_URL", f"{webhook.url}/reports")
        state = folder / "state"  # the run's alert store; the record of reports starts empty
        shutil.copytree(stored.config.state_dir, state)
        directory = folder / "reports"
        text = stored.config_path.read_text().replace(stored.config.state_dir, str(state))
        text += REPORTS.format(directory=directory, slack=slack.url)
        path = folder / "fairwatch.yaml"
        path.write_text(text)
        return Setup(load(path, secrets=False), directory, slack, webhook)

    yield make
    for server in servers:
        server.stop()


def test_missed_runs_are_made_once_on_start_and_never_again(
    setup_factory: Callable[..., Setup],
) -> None:
    setup = setup_factory()
    # first start, Sunday 11 Jan: the latest fire (Mon 05 Jan 06:00) reports the week before
    scheduler, ticker = setup.scheduler(parse_time("2026-01-11T12:00:00Z"))
    run_for(scheduler, ticker, 5 * MINUTE)
    [first] = setup.files()
    assert "2025-12-29_2026-01-05" in first.name
    assert len(setup.uploads()) == len(setup.posts()) == 1
    # down over two period ends (Mon 12 Jan and Mon 19 Jan 06:00); back on Tuesday 20 Jan
    scheduler, ticker = setup.scheduler(parse_time("2026-01-20T09:00:00Z"))
    run_for(scheduler, ticker, 5 * MINUTE)
    files = setup.files()
    assert len(files) == 3
    made = [path for path in files if path != first]
    assert ["2026-01-05_2026-01-12" in made[0].name, "2026-01-12_2026-01-19" in made[1].name] == [
        True,
        True,
    ]
    posts = setup.posts()
    assert [(post["period"]["from"], post["period"]["to"]) for post in posts[1:]] == [
        ("2026-01-05T00:00:00Z", "2026-01-12T00:00:00Z"),
        ("2026-01-12T00:00:00Z", "2026-01-19T00:00:00Z"),
    ]
    for post, path in zip(posts[1:], made, strict=True):
        assert post["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert post["file"] == path.name and post["model"] == "credit"
        assert post["url"] == f"https://reports.example.com/fairwatch/{path.name}"
        assert post["config_sha256"] == config_hash(setup.config)
    keys = [request.headers["Idempotency-Key"] for request in setup.webhook.requests]
    assert len(set(keys)) == 3
    uploads = setup.uploads()
    assert len(uploads) == 3 and {upload["channel_id"] for upload in uploads} == {"C0REPORTS"}
    assert posts[1]["sha256"] in uploads[1]["initial_comment"]
    uploaded = [r.body for r in setup.slack.requests if r.path.startswith("/upload/")]
    assert uploaded[1] == made[0].read_bytes()  # the file itself went to Slack
    # the week of the drop holds its alert and silence
    week = made[0].read_text()
    assert "2026-01-05 10:26 UTC" in week and "retraining in progress (FW-12)" in week
    # restarted again the same day: nothing is made or posted twice
    requests = (len(setup.slack.requests), len(setup.webhook.requests))
    scheduler, ticker = setup.scheduler(parse_time("2026-01-20T10:00:00Z"))
    run_for(scheduler, ticker, 5 * MINUTE)
    assert setup.files() == files
    assert (len(setup.slack.requests), len(setup.webhook.requests)) == requests


def test_a_run_fires_on_time_while_the_daemon_runs(setup_factory: Callable[..., Setup]) -> None:
    setup = setup_factory()
    scheduler, ticker = setup.scheduler(parse_time("2026-01-10T00:00:00Z"), every=MINUTE)
    scheduler.start(lambda _end: True)
    try:
        ticker.advance(parse_time("2026-01-12T05:59:00Z"))
        assert len(setup.files()) == 1  # the first start's, and nothing more yet
        ticker.advance(parse_time("2026-01-12T06:00:00Z"))
        assert len(setup.files()) == 2
        made = ReportRuns(setup.config.state_dir).all_made()
        assert format_time(made[-1].made_at) == "2026-01-12T06:00:00Z"  # at the fire's tick
    finally:
        scheduler.stop()


def week_of_the_drop(setup: Setup) -> list[Path]:
    return [path for path in setup.files() if "2026-01-05_2026-01-12" in path.name]


def test_a_report_waits_for_its_data_at_most_max_wait(setup_factory: Callable[..., Setup]) -> None:
    setup = setup_factory()
    ready = {"end": False}
    scheduler, ticker = setup.scheduler(parse_time("2026-01-12T05:00:00Z"))
    scheduler.start(lambda end: end < parse_time("2026-01-12") or ready["end"])
    try:
        ticker.advance(parse_time("2026-01-12T07:00:00Z"))
        # fired at 06:00, but event time has not passed the week's end (Monday 00:00) yet
        assert week_of_the_drop(setup) == []
        ready["end"] = True
        ticker.advance(ticker.now + MINUTE)
        assert len(week_of_the_drop(setup)) == 1
    finally:
        scheduler.stop()
    setup = setup_factory()  # another state dir, no report made yet
    scheduler, ticker = setup.scheduler(parse_time("2026-01-12T05:00:00Z"))
    scheduler.start(lambda _end: False)  # no data ever: made max_wait (6h) after the fire
    try:
        ticker.advance(parse_time("2026-01-12T11:59:00Z"))
        assert week_of_the_drop(setup) == []
        ticker.advance(parse_time("2026-01-12T12:00:00Z"))
        assert len(week_of_the_drop(setup)) == 1
    finally:
        scheduler.stop()


def test_a_failed_post_is_tried_again_and_nothing_is_doubled(
    setup_factory: Callable[..., Setup], caplog: pytest.LogCaptureFixture
) -> None:
    setup = setup_factory(fail_first=2)
    scheduler, ticker = setup.scheduler(parse_time("2026-01-12T07:00:00Z"))
    scheduler.start(lambda _end: True)
    try:
        ticker.advance(ticker.now + 30)  # first tick: made, the Slack upload fails
        assert len(setup.files()) == 1 and setup.posts() == []
        assert "event=report_failed" in caplog.text and "channel_not_found" in caplog.text
        ticker.advance(ticker.now + MINUTE)  # tried again after 60 s: fails again
        assert len(setup.uploads()) == 2 and setup.posts() == []
        ticker.advance(ticker.now + 2 * MINUTE)  # backed off to 120 s: goes through
        assert len(setup.uploads()) == 3 and len(setup.posts()) == 1
        ticker.advance(ticker.now + 60 * MINUTE)
    finally:
        scheduler.stop()
    assert len(setup.files()) == 1 and len(setup.posts()) == 1 and len(setup.uploads()) == 3
    assert len(ReportRuns(setup.config.state_dir).all_made()) == 1


DAILY = """\
sensitive: {{attributes: [group]}}
windows: [1h]
allowed_lateness: 1m
embedded_sink: {{path: {folder}/metrics.sqlite}}
state_dir: {folder}/state
reports:
  - {{name: daily, schedule: daily, format: json, directory: {folder}/reports}}
"""


def test_the_daemon_makes_a_report_once_event_time_has_passed_the_period(tmp_path: Path) -> None:
    path = tmp_path / "fairwatch.yaml"
    path.write_text(DAILY.format(folder=tmp_path))
    config = load(path)
    events = make_events(hours=25, per_group=5)
    records = [
        Record(
            "predictions" if "model_id" in body else "labels", 0, index, None, orjson.dumps(body)
        )
        for index, (_arrival, body) in enumerate(events)
    ]
    ticker = ManualTicker(parse_time("2026-01-06T06:30:00Z"))
    scheduler = build_reports(config, clock=ticker, ticker=ticker)
    source = EmbeddedSource()
    daemon = build_daemon(
        config,
        source=source,
        dead_letters=MemoryDeadLetters(),
        alerting=False,
        health=False,
        clock=ticker,
        reports=scheduler,
    )
    try:
        ticker.advance(ticker.now + MINUTE)  # the day has ended, its data are not in yet
        assert not (tmp_path / "reports").exists()
        source.append(records)
        daemon.run(stop_when_idle=True)  # event time reaches Tue 06 Jan 01:00
        ticker.advance(ticker.now + MINUTE)
    finally:
        scheduler.stop()
    [report] = sorted((tmp_path / "reports").glob("*.json"))
    assert report.name.startswith("fairwatch-report-all-2026-01-05_2026-01-06-")
    document = json.loads(report.read_text())
    [model] = document["models"]
    [series] = model["attributes"][0]["windows"]
    assert series["windows_in_period"] == 24
    assert {group["n"] for group in series["label_coverage"]["groups"]} == {24 * 12 * 5}
