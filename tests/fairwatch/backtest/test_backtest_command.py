"""``fairwatch backtest EVENTS --config FILE`` end to end on a generated stream.

The stream (tests.fairwatch.backtest.stream) selects exactly half of each group, except from 10:00
to 14:00 when group B's selection rate drops to 0.1. With ``1h/5m`` windows, a 1-minute allowed
lateness and the rule ``demographic_parity_difference > 0.10`` for 2 evaluations, clearing
below 0.05, the episode is known to the second: the window ending 10:20 holds 4 panes of the
drop (difference 4 × 0.4 / 12 = 0.133, a first breach), the one ending 10:25 holds 5 (0.167,
the second: the alert fires when event time reaches 10:26, as the window has closed); the
difference peaks at 0.4 and falls back below 0.05 in the window ending 14:55 (one pane left,
0.033), judged at 14:56.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fairwatch.cli import main
from tests.fairwatch.backtest.stream import (
    HOUR,
    START,
    Drift,
    make_events,
    write_csv,
    write_jsonl,
    write_parquet,
)

CONFIG = """\
sensitive: {attributes: [group]}
windows: [1h/5m]
allowed_lateness: 1m  # narrower than the default 10m (nothing here is out of order): exact times
engine: {min_group_size: 30}
embedded_sink: {path: STATE/metrics.sqlite}
state_dir: STATE/state
alerting:
  enabled: false
  rules:
    - name: selection-parity
      condition: demographic_parity_difference > 0.10
      clear_threshold: 0.05
      for: 2 evaluations
      receivers: [pager]
  receivers:
    - {type: pagerduty, name: pager, routing_key_env: BACKTEST_TEST_UNSET_ROUTING_KEY}
"""
DROP = Drift(START + 10 * HOUR, START + 14 * HOUR, "B", 0.1)
EXPECTED_EPISODE = {
    "rule": "selection-parity",
    "kind": "disparity",
    "model_id": "credit",
    "attribute": "group",
    "group": None,
    "metric": "demographic_parity_difference",
    "window": "1h/5m",
    "fired_at": "2026-01-05T10:26:00Z",
    "window_end_at_firing": "2026-01-05T10:25:00Z",
    "resolved_at": "2026-01-05T14:56:00Z",
    "still_firing": False,
    "extremes": {
        "rate": "selection_rate",
        "highest": {"group": "A", "rate": 0.5},
        "lowest": {"group": "B", "rate": pytest.approx(1 / 3)},
    },
}


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


def backtest(*args: str) -> Run:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["backtest", *args])
    return Run(code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("backtest")
    (folder / "fairwatch.yaml").write_text(CONFIG.replace("STATE", str(folder)), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def bodies() -> list[dict[str, Any]]:
    return [body for _arrival, body in make_events(hours=16, drifts=[DROP])]


@pytest.fixture(scope="module")
def events(folder: Path, bodies: list[dict[str, Any]]) -> Path:
    return write_jsonl(folder / "events.jsonl", bodies)


@pytest.fixture(scope="module")
def report(folder: Path, events: Path) -> dict[str, Any]:
    run = backtest(str(events), "--config", str(folder / "fairwatch.yaml"), "--format", "json")
    assert run.code == 0, run.stderr
    document: dict[str, Any] = json.loads(run.stdout)
    return document


def test_the_drop_gives_exactly_the_expected_episode(report: dict[str, Any]) -> None:
    [episode] = report["episodes"]
    assert {key: episode[key] for key in EXPECTED_EPISODE} == EXPECTED_EPISODE
    assert episode["value_at_firing"] == pytest.approx(5 * 0.4 / 12)
    assert episode["peak_value"] == pytest.approx(0.4)
    low, high = episode["ci_at_firing"]
    assert low < 5 * 0.4 / 12 < high


def test_the_summary_accounts_for_every_event(report: dict[str, Any]) -> None:
    summary = report["summary"]
    assert summary["events"]["read"] == 2 * 16 * 12 * 2 * 30
    assert summary["accepted"] == {"prediction": 16 * 12 * 60, "label": 16 * 12 * 60}
    assert summary["dead_letters"] == {"total": 0, "by_reason": {}}
    assert summary["windows_judged"] == 16 * 12 - 1  # the last window has not closed
    assert summary["episodes_by_rule"] == {"selection-parity": 1}
    # the receiver's secret is not set: nothing needs it, as nothing is sent. It records the
    # firing, its repeat 4 hours later (the default repeat_interval) and the resolve.
    assert summary["notifications_recorded"] == {"pager": 3}


def test_the_table_shows_the_episode_and_fits_100_columns(folder: Path, events: Path) -> None:
    run = backtest(str(events), "--config", str(folder / "fairwatch.yaml"))
    assert run.code == 0, run.stderr
    lines = run.stdout.splitlines()
    assert max(len(line) for line in lines) <= 100
    [row] = [line for line in lines if "2026-01-05 10:26" in line]
    fired, resolved, value, interval, peak, highest, lowest = re.split(r"\s{2,}", row.strip())
    assert (fired, resolved, value, peak) == (
        "2026-01-05 10:26",
        "2026-01-05 14:56",
        "0.167",
        "0.400",
    )
    assert re.fullmatch(r"0\.\d{3}–0\.\d{3}", interval)
    assert (highest.strip(), lowest.strip()) == ("A 0.500", "B 0.333")
    assert "selection-parity  credit · group · demographic_parity_difference · 1h/5m" in run.stdout
    assert "windows judged  191" in run.stdout
    assert "23,040 events" in run.stderr and "1 episode(s)" in run.stderr


def test_the_configured_state_dir_is_never_touched(folder: Path, report: dict[str, Any]) -> None:
    assert not (folder / "state").exists()
    assert not (folder / "metrics.sqlite").exists()


def test_the_same_file_twice_gives_byte_identical_json(folder: Path, events: Path) -> None:
    outputs = []
    for name in ("first.json", "second.json"):
        run = backtest(
            str(events),
            "--config",
            str(folder / "fairwatch.yaml"),
            "--format",
            "json",
            "--out",
            str(folder / name),
        )
        assert run.code == 0 and run.stdout == "", run.stderr
        outputs.append((folder / name).read_bytes())
    assert outputs[0] == outputs[1]
    assert b"2026-01-05T10:26:00Z" in outputs[0]


@pytest.mark.parametrize("writer", [write_csv, write_parquet], ids=["csv", "parquet"])
def test_csv_and_parquet_give_the_same_episodes_as_jsonl(
    folder: Path, bodies: list[dict[str, Any]], report: dict[str, Any], writer: Any
) -> None:
    path = writer(folder / f"events.{writer.__name__.removeprefix('write_')}", bodies)
    run = backtest(str(path), "--config", str(folder / "fairwatch.yaml"), "--format", "json")
    assert run.code == 0, run.stderr
    other = json.loads(run.stdout)
    assert other["episodes"] == report["episodes"]
    assert other["summary"] == report["summary"]


def test_a_bad_line_is_a_dead_letter_with_its_reason_and_the_run_goes_on(
    folder: Path, bodies: list[dict[str, Any]], report: dict[str, Any]
) -> None:
    lines = [json.dumps(body) for body in bodies]
    lines.insert(100, '{"prediction_id": "x-1", "model_id": "credit", "timestamp": ')
    lines.insert(
        200, json.dumps({**bodies[0], "prediction_id": "x-2", "score": 3.5, "prediction": None})
    )
    lines.insert(300, json.dumps({"prediction_id": "x-3"}))  # a label without its label
    path = folder / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = backtest(str(path), "--config", str(folder / "fairwatch.yaml"), "--format", "json")
    assert run.code == 0, run.stderr
    document = json.loads(run.stdout)
    assert [
        (letter["line"], letter["kind"], letter["reason"]) for letter in document["dead_letters"]
    ] == [
        (101, "prediction", "invalid_json"),
        (201, "prediction", "score_out_of_range"),
        (301, "label", "missing_field"),
    ]
    assert "outside [0, 1]" in document["dead_letters"][1]["detail"]
    assert document["summary"]["dead_letters"]["by_reason"] == {
        "invalid_json": 1,
        "missing_field": 1,
        "score_out_of_range": 1,
    }
    assert document["episodes"] == report["episodes"]
    table = backtest(str(path), "--config", str(folder / "fairwatch.yaml")).stdout
    assert "dead letters    3: invalid_json 1, missing_field 1, score_out_of_range 1" in table
    [row] = [line.split() for line in table.splitlines() if line.split()[:1] == ["301"]]
    assert row[:3] == ["301", "label", "missing_field"]


def test_an_episode_still_firing_at_the_end_says_so(folder: Path) -> None:
    drop = Drift(START + 10 * HOUR, START + 20 * HOUR, "B", 0.1)
    path = write_jsonl(
        folder / "open.jsonl", (body for _t, body in make_events(hours=12, drifts=[drop]))
    )
    run = backtest(str(path), "--config", str(folder / "fairwatch.yaml"), "--format", "json")
    [episode] = json.loads(run.stdout)["episodes"]
    assert episode["fired_at"] == "2026-01-05T10:26:00Z"
    assert (episode["resolved_at"], episode["still_firing"]) == (None, True)
    table = backtest(str(path), "--config", str(folder / "fairwatch.yaml")).stdout
    assert "still firing" in table


def one_line_error(run: Run) -> str:
    assert run.code == 2
    assert run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    return lines[0]


def test_an_invalid_configuration_exits_2_with_one_line(folder: Path, events: Path) -> None:
    config = folder / "invalid.yaml"
    config.write_text("sensitive: {attributes: []}\nwindows: [1h/7m]\n", encoding="utf-8")
    line = one_line_error(backtest(str(events), "--config", str(config)))
    assert line.startswith(f"fairwatch: invalid configuration {config}: ")
    assert "windows[0]" in line and "sensitive.attributes" in line


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.jsonl", None, "no such file"),
        ("empty.jsonl", "", "the file is empty"),
        ("blank.jsonl", "\n  \n\n", "the file holds no events"),
        ("events.txt", "{}\n", "unknown file format"),
        ("broken.parquet", "not parquet", "cannot read as parquet"),
    ],
)
def test_unusable_events_exit_2_with_one_line(
    folder: Path, name: str, content: str | None, message: str
) -> None:
    path = folder / name
    if content is not None:
        path.write_text(content, encoding="utf-8")
    line = one_line_error(backtest(str(path), "--config", str(folder / "fairwatch.yaml")))
    assert line.startswith(f"fairwatch backtest: cannot use EVENTS: {path}")
    assert message in line


def test_a_table_without_an_attribute_column_is_refused(
    folder: Path, bodies: Sequence[dict[str, Any]]
) -> None:
    path = write_csv(folder / "no-group.csv", bodies[:10])
    path.write_text(path.read_text().replace(",group", ",team", 1), encoding="utf-8")
    line = one_line_error(backtest(str(path), "--config", str(folder / "fairwatch.yaml")))
    assert "no column for the sensitive attribute 'group'" in line
