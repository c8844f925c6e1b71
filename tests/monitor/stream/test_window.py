"""Window arithmetic: panes, tumbling and sliding windows, the watermark, retiring panes."""

from __future__ import annotations

import numpy as np

from monitor.config import parse_window
from monitor.stream.window import (
    GroupIndex,
    PaneCounts,
    Watermark,
    counts_by_group,
    pane_starts,
    panes_of_window,
    windows_of_pane,
)

HOUR = 3600.0


def test_tumbling_window_is_one_pane() -> None:
    spec = parse_window("1h")
    assert pane_starts(np.array([7200.0, 10799.9, 10800.0]), spec.step).tolist() == [
        7200.0,
        7200.0,
        10800.0,
    ]
    assert windows_of_pane(spec, 7200.0) == [7200.0]
    assert panes_of_window(spec, 7200.0) == [7200.0]


def test_sliding_window_panes_and_the_windows_holding_a_pane() -> None:
    spec = parse_window("2h/30m")
    assert panes_of_window(spec, 0.0) == [0.0, 1800.0, 3600.0, 5400.0]
    # an event at 01:10 is in the windows starting 23:30 (previous day), 00:00, 00:30, 01:00
    assert sorted(windows_of_pane(spec, 3600.0)) == [-1800.0, 0.0, 1800.0, 3600.0]
    for window_start in windows_of_pane(spec, 3600.0):
        assert 3600.0 in panes_of_window(spec, window_start)


def test_watermark_closes_windows_after_the_allowed_lateness() -> None:
    spec = parse_window("1h")
    watermark = Watermark(allowed_lateness=600.0)
    assert not watermark.late(spec, np.array([0.0])).any()  # nothing seen yet: nothing late
    watermark.advance(np.array([5 * HOUR + 300.0]))  # watermark = 5h - 5m
    late = watermark.late(spec, np.array([3 * HOUR + 1, 4 * HOUR - 1, 4 * HOUR + 1, 5 * HOUR]))
    assert late.tolist() == [True, True, False, False]
    sliding = parse_window("2h/1h")  # the window [3h, 5h) is still open for an event at 3h+1
    assert watermark.late(sliding, np.array([3 * HOUR + 1, 2 * HOUR + 1])).tolist() == [
        False,
        True,
    ]


def test_panes_sum_over_partitions_grow_rows_and_retire() -> None:
    spec = parse_window("2h/1h")
    panes = PaneCounts(width=6)
    panes.add(("2h/1h", "m", 0.0, 0), np.array([[1, 1, 0, 0, 0, 0]]))
    panes.add(("2h/1h", "m", HOUR, 1), np.array([[2, 0, 0, 0, 0, 0], [5, 5, 1, 0, 0, 0]]))
    total = panes.window(spec, "m", 0.0, [0, 1])
    assert total is not None and total.tolist() == [[3, 1, 0, 0, 0, 0], [5, 5, 1, 0, 0, 0]]
    index = GroupIndex([("sex", "F"), ("sex", "M")])
    counts = counts_by_group(total, index)
    assert counts[("sex", "M")].tp == 1 and counts[("sex", "F")].n == 3
    assert panes.retire(spec, before=2 * HOUR + 1) == 1  # pane 0 ended its last window at 2h
    assert [key[2] for key in panes] == [HOUR]
    assert ("2h/1h", "m", 0.0, 0) in panes.removed_panes


def test_retiring_keeps_track_of_the_oldest_pane_of_each_spec() -> None:
    hourly, daily = parse_window("2h/1h"), parse_window("1d")
    panes = PaneCounts(width=6)
    row = np.array([[1, 0, 0, 0, 0, 0]])
    for hour in (5, 3, 4):
        panes.add(("2h/1h", "m", hour * HOUR, 0), row)
    panes.load(("1d", "m", 0.0, 0), row)
    assert panes.retire(hourly, before=5 * HOUR) == 0  # pane 3 ends its last window at 5h
    assert panes.retire(hourly, before=6 * HOUR + 1) == 2
    assert panes.retire(hourly, before=6 * HOUR + 1) == 0
    panes.add(("2h/1h", "m", 1 * HOUR, 0), row)  # a late pane, older than those left
    assert panes.retire(hourly, before=6 * HOUR + 1) == 1
    assert [key[2] for key in panes if key[0] == "2h/1h"] == [5 * HOUR]
    assert panes.retire(hourly, before=8 * HOUR) == 1
    assert panes.retire(hourly, before=100 * HOUR) == 0  # none left
    assert panes.retire(daily, before=24 * HOUR + 1) == 1  # a pane restored from the checkpoint
    assert len(panes) == 0


def test_group_index_is_stable() -> None:
    index = GroupIndex()
    first = index.rows("sex", ["M", "F"]).tolist()
    again = index.rows("sex", ["F", "X", "M"]).tolist()
    assert first == [0, 1] and again == [1, 2, 0]


def test_event_time_is_the_slowest_partition_so_a_backlog_is_never_late() -> None:
    spec = parse_window("1h")
    watermark = Watermark(allowed_lateness=600.0)
    watermark.own([0, 1, 2])
    # partition 0 is read first, a whole day ahead of the others: nothing closes yet
    watermark.advance(np.array([HOUR, 24 * HOUR]), np.array([0, 0]))
    assert watermark.event_time == -np.inf
    assert not watermark.late(spec, np.array([0.0])).any()
    watermark.advance(np.array([2 * HOUR, 3 * HOUR]), np.array([1, 2]))
    assert watermark.event_time == 2 * HOUR  # the slowest partition
    assert watermark.value == 2 * HOUR - 600.0
    assert watermark.max_event_time == 24 * HOUR


def test_an_idle_partition_stops_holding_the_others_back_until_its_next_record() -> None:
    watermark = Watermark(allowed_lateness=0.0, idle_timeout=60.0)
    watermark.own([0, 1])
    watermark.tick(now=1000.0)
    watermark.advance(np.array([5 * HOUR]), np.array([0]))
    assert watermark.event_time == -np.inf  # partition 1 has said nothing yet
    watermark.tick(now=1030.0)
    watermark.advance(np.array([5 * HOUR]), np.array([0]))  # partition 0 keeps talking
    watermark.tick(now=1059.0)
    assert (watermark.idle, watermark.event_time) == (set(), -np.inf)
    watermark.tick(now=1060.0)  # silent for the idle timeout, nothing left to read in it
    assert watermark.idle == {1} and watermark.became_idle == 1
    assert watermark.event_time == 5 * HOUR
    # its next record makes it active again; the event time never moves back
    watermark.advance(np.array([4 * HOUR]), np.array([1]))
    assert (watermark.idle, watermark.event_time) == (set(), 5 * HOUR)
    watermark.advance(np.array([6 * HOUR]), np.array([0]))
    assert watermark.event_time == 5 * HOUR  # held at partition 1's progress... and more:
    watermark.advance(np.array([7 * HOUR]), np.array([1]))
    assert watermark.event_time == 6 * HOUR


def test_a_partition_with_records_left_to_read_is_never_idle() -> None:
    watermark = Watermark(allowed_lateness=0.0, idle_timeout=60.0)
    watermark.own([0, 1])
    watermark.tick(now=0.0)
    watermark.advance(np.array([5 * HOUR]), np.array([0]))
    for now in (100.0, 1000.0, 10_000.0):  # e.g. a broker outage: the lag is known
        watermark.tick(now=now, behind=[1])
    assert watermark.idle == {0} and watermark.event_time == -np.inf
    watermark.tick(now=10_059.0)  # caught up: idle only a full timeout after that
    assert watermark.idle == {0}
    watermark.tick(now=10_060.0)
    assert watermark.idle == {0, 1} and watermark.event_time == 5 * HOUR


def test_every_partition_idle_means_nothing_is_left_anywhere() -> None:
    watermark = Watermark(allowed_lateness=0.0, idle_timeout=60.0)
    watermark.own([0, 1, 2])
    watermark.tick(now=0.0)
    watermark.advance(np.array([HOUR, 2 * HOUR, 3 * HOUR]), np.array([0, 1, 2]))
    assert watermark.event_time == HOUR
    watermark.tick(now=60.0)
    assert watermark.idle == {0, 1, 2} and watermark.event_time == 3 * HOUR


def test_restored_progress_holds_the_event_time() -> None:
    watermark = Watermark(allowed_lateness=0.0)
    watermark.restore({0: 5 * HOUR, 1: 2 * HOUR}, 2 * HOUR)
    assert watermark.owned == {0, 1} and watermark.event_time == 2 * HOUR
    watermark.advance(np.array([3 * HOUR]), np.array([1]))
    assert watermark.event_time == 3 * HOUR
