"""The demo's progress display: a live table on a terminal, plain lines otherwise."""

from __future__ import annotations

import io

from rich.console import Console

from fairwatch.demo.progress import Display
from fairwatch.demo.recorder import WindowRecorder
from fairwatch.episodes import EpisodeRecorder
from fairwatch.replay import Progress
from monitor.engine.counts import GroupCounts
from monitor.engine.evaluate import EngineConfig, evaluate

HOUR = 3600.0
START = 1767571200.0  # Mon 05 Jan 2026 00:00 UTC


def recorders() -> tuple[WindowRecorder, EpisodeRecorder]:
    windows = WindowRecorder("demographic_parity_difference")
    counts = {
        ("sex", "Male"): GroupCounts(n=400, predicted_positive=100),
        ("sex", "Female"): GroupCounts(n=200, predicted_positive=10),
        ("race", "White"): GroupCounts(n=500, predicted_positive=95),
        ("race", "Black"): GroupCounts(n=100, predicted_positive=15),
    }
    evaluation = evaluate(
        "m",
        "12h/2h",
        START,
        START + 12 * HOUR,
        counts,
        EngineConfig(min_group_size=30, bootstrap_samples=50),
    )
    windows.on_evaluations([evaluation], now=START + 12 * HOUR, watermark=START + 12 * HOUR)
    return windows, EpisodeRecorder()


def progress(now: float, done: bool = False) -> Progress:
    return Progress(
        now=now,
        events=10,
        total_events=20,
        predictions=8,
        labels=2,
        wall_seconds=1.0,
        done=done,
        evaluations=3,
    )


def test_plain_lines_come_every_six_hours_of_event_time() -> None:
    windows, alerts = recorders()
    stream = io.StringIO()
    display = Display(windows, alerts, (START, START + HOUR), live=False, stream=stream)
    with display:
        for minutes in range(0, 13 * 60, 10):
            display.update(progress(START + minutes * 60))
        display.update(progress(START + 13 * HOUR, done=True))
    lines = stream.getvalue().splitlines()
    assert [line.split("  ")[0] for line in lines] == [
        "Mon 05 Jan 00:00",
        "Mon 05 Jan 06:00",
        "Mon 05 Jan 12:00",
        "Mon 05 Jan 13:00",
    ]
    assert "selection Female 0.050 Male 0.250" in lines[0]
    assert "parity diff 0.200 (breach)" in lines[0]


def test_alert_transitions_are_announced_with_their_event_time() -> None:
    windows, alerts = recorders()
    stream = io.StringIO()
    display = Display(windows, alerts, (START, START + HOUR), live=False, stream=stream)
    display.announce(START + 7 * HOUR, ["firing selection-rate-parity sex"])
    assert stream.getvalue() == "Mon 05 Jan 07:00  firing selection-rate-parity sex\n"
    assert display.log == ["Mon 05 Jan 07:00  firing selection-rate-parity sex"]


def test_the_live_table_shows_rates_status_and_alerts() -> None:
    windows, alerts = recorders()
    display = Display(windows, alerts, (START, START + HOUR), live=True, stream=io.StringIO())
    console = Console(file=io.StringIO(), width=160, color_system=None)
    console.print(display.render(progress(START + 0.5 * HOUR)))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "drift injected" in text
    rows = {line.split()[0]: line for line in text.splitlines() if line.strip()}
    assert "Female" in text and "0.050" in text and "0.250" in text
    assert "0.200" in rows["sex"] and "breach" in rows["sex"]
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "alerts: firing 0" in text
