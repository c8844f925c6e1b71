"""Replays on a simulated clock (fairwatch.replay, fairwatch.simulation): polls end where windows
close, a gap moves the clock first, and judging only closed windows changes no episode."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from fairwatch.episodes import Episode
from fairwatch.replay import Cadence, RecordedEvents, ReplaySource, SimulatedTime
from fairwatch.simulation import simulated_run
from monitor.config import MonitorConfig, config_from_dict
from monitor.sinks.embedded import EmbeddedSink
from monitor.stream.counters import EVENTS_CONSUMED, WINDOWS_EVALUATED
from tests.fairwatch.backtest.stream import HOUR, START, Drift, make_events

DAY = 24 * HOUR


def config(tmp_path: Path, **changes: Any) -> MonitorConfig:
    raw: dict[str, Any] = {
        "sensitive": {"attributes": ["group"]},
        "windows": ["1h/5m"],
        "allowed_lateness": "1m",
        "state_dir": str(tmp_path / "state"),
        "embedded_sink": {"path": str(tmp_path / "unused.sqlite")},
        "alerting": {
            "rules": [
                {
                    "name": "parity",
                    "condition": "demographic_parity_difference > 0.10",
                    "clear_threshold": 0.05,
                    "for": "2 evaluations",
                }
            ]
        },
    }
    raw.update(changes)
    return config_from_dict(raw)


def recorded(events: list[tuple[float, dict[str, Any]]]) -> RecordedEvents:
    return RecordedEvents(
        ["labels" if "model_id" not in body else "predictions" for _t, body in events],
        [body["prediction_id"].encode() for _t, body in events],
        [orjson.dumps(body) for _t, body in events],
        np.asarray([arrival for arrival, _body in events], dtype=np.float64),
    )


def test_cadence_is_every_window_close_for_the_rules() -> None:
    settings = config(
        Path("/nonexistent"), windows=["1h/5m", "1d/1h"], pipeline={"alert_delay": "2m"}
    )
    cadence = Cadence.of(settings)
    assert cadence == Cadence(300.0, 180.0)  # 5-minute steps; lateness 1m + delay 2m
    assert cadence.next_after(START) == START + 180.0
    assert cadence.next_after(START + 180.0) == START + 480.0


def source(arrivals: list[float], topics: list[str]) -> tuple[ReplaySource, SimulatedTime]:
    clock = SimulatedTime(arrivals[0], 60.0)
    events = RecordedEvents(
        topics,
        [None] * len(topics),
        [b"{}"] * len(topics),
        np.asarray(arrivals, dtype=np.float64),
    )
    return ReplaySource(events, clock, Cadence(300.0, 60.0)), clock


def test_a_poll_ends_with_the_prediction_that_closes_a_window() -> None:
    p, l = "predictions", "labels"  # noqa: E741
    arrivals = [0.0, 100.0, 350.0, 359.0, 361.0, 400.0, math.nan, 659.0, 700.0]
    topics = [p, p, l, p, p, p, l, l, p]
    replay, clock = source(arrivals, topics)
    polls = []
    while not replay.is_idle():
        polls.append((len(replay.poll(100, 0.0)), clock.now))
    # windows close for the rules at 1:00, 6:00 and 11:00 (every 5 minutes, 1 minute late):
    # each poll ends with the first prediction at or past one of them (a label does not move
    # the watermark); the label without a time arrives when it is read
    assert polls == [(1, 0.0), (1, 100.0), (3, 361.0), (4, 700.0)]
    assert (replay.predictions, replay.labels) == (6, 3)
    assert replay.lag({}) == {("predictions", 0): 0, ("labels", 0): 0}


def test_a_gap_moves_the_clock_before_the_next_record_is_handed_out() -> None:
    p = "predictions"
    replay, clock = source([0.0, 30.0, 2 * DAY, 2 * DAY + 10], [p, p, p, p])
    assert len(replay.poll(100, 0.0)) == 1
    assert (len(replay.poll(100, 0.0)), clock.now) == (1, 30.0)
    assert (replay.poll(100, 0.0), clock.now) == ([], 2 * DAY)  # nothing, but the clock moved
    assert [record.offset for record in replay.poll(100, 0.0)] == [2]
    assert [record.offset for record in replay.poll(100, 0.0)] == [3]
    assert replay.is_idle()


def test_a_poll_hands_out_nothing_further_past_the_clock_than_the_skew_allowed() -> None:
    """With daily windows a poll runs to the prediction that closes the next day's window,
    which can arrive more than a day (``pipeline.max_clock_skew``) after the clock the daemon
    last ticked with; it would be refused as ``future_timestamp``. The poll stops short of it."""
    p = "predictions"
    arrivals = [0.0, 620.0, 30000.0, 60000.0, DAY + 700.0, DAY + 800.0]
    clock = SimulatedTime(arrivals[0], 60.0)
    events = RecordedEvents(
        [p] * len(arrivals),
        [None] * len(arrivals),
        [b"{}"] * len(arrivals),
        np.asarray(arrivals, dtype=np.float64),
    )
    replay = ReplaySource(events, clock, Cadence(DAY, 600.0), horizon=DAY)
    polls = []
    while not replay.is_idle():
        before = clock.now
        records = replay.poll(100, 0.0)
        assert all(arrivals[record.offset] <= before + DAY for record in records)
        polls.append((len(records), clock.now))
    # the window of the first day closes for the rules at DAY + 600: without the horizon the
    # third poll would run from 620 to DAY + 700, more than a day past its clock
    assert polls == [(1, 0.0), (1, 620.0), (2, 60000.0), (1, DAY + 700.0), (1, DAY + 800.0)]


def episodes(settings: MonitorConfig, events: RecordedEvents, judged_only: bool) -> Any:
    run = simulated_run(settings, events, sink=EmbeddedSink(":memory:"), judged_only=judged_only)
    run.run()
    return run


def test_judging_only_closed_windows_changes_no_episode(tmp_path: Path) -> None:
    drops = [
        Drift(START + 1 * HOUR, START + 2.5 * HOUR, "B", 0.1),
        Drift(START + 4 * HOUR, START + 5 * HOUR, "A", 0.2),
    ]
    events = recorded(make_events(hours=6, drifts=drops, label_delay=900.0))
    every = episodes(config(tmp_path / "every", windows=["30m/5m"]), events, judged_only=False)
    judged = episodes(config(tmp_path / "judged", windows=["30m/5m"]), events, judged_only=True)
    assert len(judged.episodes.alerts) == 2
    assert judged.episodes.alerts == every.episodes.alerts
    assert judged.gate.released == every.gate.released == 6 * 12 - 1
    evaluated = judged.daemon.pipeline.counters.get(WINDOWS_EVALUATED)
    assert evaluated == judged.gate.released  # each window once, when the rules judge it
    assert every.daemon.pipeline.counters.get(WINDOWS_EVALUATED) > 10 * evaluated


def test_a_gap_of_days_is_no_future_timestamp(tmp_path: Path) -> None:
    """A prediction two days after the last one (more than pipeline.max_clock_skew) is in
    time: the daemon's clock has reached its arrival when it is counted."""
    first = make_events(hours=2)
    later = [
        (arrival, {**body, "prediction_id": body["prediction_id"] + "-later"})
        for arrival, body in make_events(start=START + 2 * DAY, hours=2)
    ]
    run = episodes(config(tmp_path), recorded(first + later), judged_only=True)
    assert run.dead_letters.letters == []
    assert run.daemon.pipeline.counters.get(EVENTS_CONSUMED, topic="predictions") == 2 * 2 * 12 * 60


def test_the_clock_is_the_running_maximum_of_the_arrivals(tmp_path: Path) -> None:
    events = make_events(hours=3, drifts=[Drift(START + HOUR, START + 2 * HOUR, "B", 0.0)])
    run = episodes(config(tmp_path), recorded(events), judged_only=True)
    [episode] = run.episodes.alerts
    assert isinstance(episode, Episode)
    # B selects no one from 1:00: the window ending 1:15 holds 3 such panes (difference 0.125,
    # a first breach), the one ending 1:20 four: the second, judged when it closes at 1:21
    assert episode.fired_at == START + HOUR + 21 * 60
    assert episode.window_end_at_firing == START + HOUR + 20 * 60
    assert run.clock.now >= max(arrival for arrival, _body in events)


@pytest.mark.parametrize(
    ("speed", "sizes", "waits"),
    [(None, [1, 60, 300], []), (1000.0, [1, 60, 100], [0.001, 0.061, 0.161])],
)
def test_the_demo_pacing_hands_out_at_most_a_tenth_of_a_second(
    speed: float | None, sizes: list[int], waits: list[float]
) -> None:
    p = "predictions"
    replay, _clock = source([float(t) for t in range(2000)], [p] * 2000)
    replay.speed = speed
    slept: list[float] = []
    replay._sleep = slept.append
    replay._wall = lambda: 0.0
    assert [len(replay.poll(10_000, 0.0)) for _ in range(3)] == sizes
    assert slept == pytest.approx(waits)
