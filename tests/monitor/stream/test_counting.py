"""The window counts: rows counted into the panes of each specification, the windows they changed
marked, evaluated and retired."""

from __future__ import annotations

import numpy as np

from monitor.config import WindowSpec
from monitor.engine.evaluate import EngineConfig
from monitor.stream.counting import WindowCounts, column_names, split_by_model

HOUR = 3600.0
SPECS = [
    WindowSpec(name="1h", size=HOUR, step=HOUR),
    WindowSpec(name="2h/1h", size=2 * HOUR, step=HOUR),
]


def empty_counts() -> WindowCounts:
    return WindowCounts(SPECS, ["sex", "race"], [["race", "sex"]], 10, {}, {}, [])


def count(counts: WindowCounts, times: list[float], sexes: list[str]) -> None:
    """Positive decisions of model ``m``, unlabeled, in partition 0, counted in both specs."""
    size = len(times)
    groups = counts.group_rows("m", {"sex": sexes, "race": ["A"] * size}, size)
    counts.count(
        "m",
        groups,
        np.asarray(times),
        np.zeros(size, dtype=np.int64),
        np.ones(size, dtype=np.int64),
        np.full(size, np.nan),
        np.full(size, -1, dtype=np.int64),
        np.full(size, 0b11, dtype=np.int64),
        count_n=True,
    )


def test_the_columns_are_the_attributes_then_the_intersections_not_named_yet() -> None:
    assert column_names(["sex", "race", "sex"], [["sex", "race"], ["race", "sex"]]) == [
        "sex",
        "race",
        "race&sex",
    ]


def test_rows_split_by_model_keep_their_order() -> None:
    split = split_by_model(["a", "b", "a"], np.arange(3))
    assert {model: rows.tolist() for model, rows in split.items()} == {"a": [0, 2], "b": [1]}
    assert split_by_model(["a", "a"], np.arange(2))["a"].tolist() == [0, 1]


def test_an_event_changes_every_window_containing_it_and_is_counted_in_each_column() -> None:
    counts = empty_counts()
    count(counts, [1.5 * HOUR, 1.6 * HOUR], ["F", "M"])
    assert counts.changed == {("1h", "m", HOUR), ("2h/1h", "m", 0.0), ("2h/1h", "m", HOUR)}
    assert counts.partitions == {0}
    evaluations = counts.evaluate(sorted(counts.changed), EngineConfig(bootstrap_samples=10))
    assert [(e.window, e.window_start, e.window_end) for e in evaluations] == [
        ("1h", HOUR, 2 * HOUR),
        ("2h/1h", 0.0, 2 * HOUR),
        ("2h/1h", HOUR, 3 * HOUR),
    ]
    sizes = {(group.attribute, group.group): group.n for group in evaluations[0].groups}
    assert sizes[("sex", "F")] == sizes[("sex", "M")] == 1
    assert sizes[("race", "A")] == 2
    assert counts.window_end(("2h/1h", "m", HOUR)) == 3 * HOUR


def test_retiring_drops_old_panes_and_the_windows_made_of_them() -> None:
    counts = empty_counts()
    count(counts, [0.5 * HOUR, 5.5 * HOUR], ["F", "F"])
    counts.retire(5 * HOUR)
    assert counts.changed == {
        ("1h", "m", 5 * HOUR),
        ("2h/1h", "m", 4 * HOUR),
        ("2h/1h", "m", 5 * HOUR),
    }
    assert {key[2] for key in counts.panes} == {5 * HOUR}
