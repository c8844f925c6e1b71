"""``for`` on a sliding window looked at every step (``1h/5m``): every form but ``N evaluations``
counts data that does not overlap.

Each evaluation is the window of the last hour, judged every 5 minutes, as the daemon's closed-
window gate hands them over. A breach starts in the window ending at ``FIRST``; the tests find the
first window that fires and check that it does not overlap the first breaching window (or, for
``N evaluations``, that it does: that form keeps its meaning, and the loader warns about it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from alerting.config import RuleConfig, overlap_warnings, parse_alerting_config
from alerting.lifecycle import evaluate
from alerting.model import AlertState
from alerting.rules import observe
from fairwatch.cli import main
from monitor.config.windows import parse_window
from tests.alerting.alert_builders import HOUR, T0, evaluation

STEP = 300.0
FIRST = T0 + 2 * HOUR  # the end of the first breaching window


def rule(value: Any) -> RuleConfig:
    return parse_alerting_config(
        {"rules": [{"name": "dp", "condition": "> 0.10", "clear_threshold": 0.08, "for": value}]}
    ).rules[0]


def run(config: RuleConfig, values: list[float]) -> list[tuple[float, str]]:
    """Window end and status after each evaluation of ``values``, one per 5-minute step, the
    first ending at ``FIRST - 2 * STEP``; ``now`` is each window's end (the rules judge a window
    when it closes)."""
    state: AlertState | None = None
    seen = []
    for index, value in enumerate(values):
        end = FIRST + (index - 2) * STEP
        (observation,) = observe([config], evaluation(value, end, window="1h/5m"))
        state = evaluate(state, observation, end)
        seen.append((end, state.status))
    return seen


def fired_at(seen: list[tuple[float, str]]) -> float | None:
    return next((end for end, status in seen if status == "firing"), None)


# two clear windows, then a breach that holds for three hours
HOLDS = [0.05, 0.05] + [0.20] * 37


@pytest.mark.parametrize(
    ("form", "windows"),
    [
        ("2 windows", 2),
        (2, 2),  # a bare number is seconds: any duration needs one more window of new data
        ("2s", 2),
        ("15m", 2),
        ("1h", 2),
        ("61m", 3),
        ("2h", 3),
        ({"seconds": 900, "windows": 3}, 3),
        ("3 windows", 3),
    ],
)
def test_every_form_but_evaluations_counts_windows_that_do_not_overlap(
    form: Any, windows: int
) -> None:
    fired = fired_at(run(rule(form), HOLDS))
    # the n-th window that does not overlap the ones before: n - 1 hours after the first
    assert fired == FIRST + (windows - 1) * HOUR
    assert fired - HOUR >= FIRST  # its window starts where the first breaching one ended


def test_for_2_is_not_two_overlapping_evaluations() -> None:
    seen = run(rule(2), HOLDS)
    statuses = dict(seen)
    assert statuses[FIRST] == "pending"
    # the next eleven windows share most of their data with the first: none fires it
    assert all(statuses[FIRST + step * STEP] == "pending" for step in range(1, 12))
    assert statuses[FIRST + HOUR] == "firing"


def test_a_breach_must_hold_in_every_evaluation_in_between() -> None:
    # breaching windows an hour apart, but one evaluation between them is clear
    values = [0.05, 0.05] + [0.20] * 6 + [0.05] + [0.20] * 30
    seen = run(rule("2 windows"), values)
    gap = FIRST + 6 * STEP
    assert dict(seen)[gap] == "inactive"
    # the count starts again after the gap: two distinct windows from the next breach on
    assert fired_at(seen) == gap + STEP + HOUR
    assert fired_at(run(rule("15m"), values)) == gap + STEP + HOUR


def test_n_evaluations_keeps_counting_overlapping_evaluations() -> None:
    # compatibility: two consecutive evaluations, 65 minutes of data of which 5 are new
    assert fired_at(run(rule("2 evaluations"), HOLDS)) == FIRST + STEP


def test_on_a_tumbling_window_a_duration_is_its_count_of_windows() -> None:
    spec = rule("90m").for_
    assert spec.distinct_windows(HOUR) == 3  # the first window, then 90 minutes: two more
    assert spec.distinct_windows(5 * 60) == 19
    assert rule(0).for_.distinct_windows(HOUR) == 0
    assert rule("3 evaluations").for_.distinct_windows(HOUR) == 0


def test_the_loader_warns_about_evaluations_on_a_sliding_window() -> None:
    windows = [parse_window("1h/5m"), parse_window("1d/1h"), parse_window("1h")]
    config = parse_alerting_config(
        {
            "rules": [
                {"name": "overlapping", "condition": "> 0.1", "for": "2 evaluations"},
                {"name": "distinct", "condition": "> 0.1", "for": "2 windows"},
                {
                    "name": "tumbling",
                    "condition": "> 0.1",
                    "for": "3 evaluations",
                    "selector": {"window": "1h"},
                },
                {"name": "once", "condition": "> 0.1", "for": "1 evaluation"},
            ]
        }
    )
    assert overlap_warnings(config, windows) == [
        "alerting.rules[0].for: 2 evaluations of the sliding window 1h/5m overlap: together "
        "they hold 65m of data, of which only 5m is new; write `for: 2 windows` for 2 windows "
        "of distinct data (docs/alerting.md, Rules)",
        "alerting.rules[0].for: 2 evaluations of the sliding window 1d/1h overlap: together "
        "they hold 25h of data, of which only 1h is new; write `for: 2 windows` for 2 windows "
        "of distinct data (docs/alerting.md, Rules)",
    ]


def test_check_config_prints_the_warning_and_succeeds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = {
        "sensitive": {"attributes": ["sex"]},
        "windows": ["1h/5m"],
        "embedded_sink": {"path": str(tmp_path / "metrics.sqlite")},
        "state_dir": str(tmp_path / "state"),
        "alerting": {
            "rules": [{"name": "dp", "condition": "> 0.1", "for": "2 evaluations"}],
        },
    }
    path = tmp_path / "fairwatch.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    assert main(["check-config", str(path)]) == 0
    err = capsys.readouterr().err
    assert f"fairwatch: warning: {path}: alerting.rules[0].for: 2 evaluations" in err
    assert "`for: 2 windows`" in err
    document["alerting"] = {"rules": [{"name": "dp", "condition": "> 0.1", "for": "2 windows"}]}
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    assert main(["check-config", str(path)]) == 0
    assert capsys.readouterr().err == ""
