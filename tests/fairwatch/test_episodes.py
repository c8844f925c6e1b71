"""Episodes as the alert manager lives them: the value, interval and extremes of the window that
fired, the worst value while firing, the resolve; receivers that record and send nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from alerting.config import parse_alerting_config
from alerting.manager import AlertManager
from fairwatch.episodes import EpisodeRecorder, RecordingReceiver
from monitor.engine.counts import GroupCounts
from monitor.engine.evaluate import EngineConfig, evaluate
from monitor.engine.results import WindowEvaluation

HOUR = 3600.0
ENGINE = EngineConfig(min_group_size=30, bootstrap_samples=100)


def window(hour: int, selected_b: int) -> WindowEvaluation:
    """A 1-hour window: group A selects 50 of 100, group B ``selected_b`` of 100."""
    counts = {
        ("sex", "A"): GroupCounts(n=100, predicted_positive=50),
        ("sex", "B"): GroupCounts(n=100, predicted_positive=selected_b),
    }
    return evaluate("m", "1h", hour * HOUR, (hour + 1) * HOUR, counts, ENGINE)


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[AlertManager]:
    config = parse_alerting_config(
        {
            "rules": [
                {
                    "name": "four-fifths",
                    "condition": "demographic_parity_ratio < 0.8",
                    "clear_threshold": 0.9,
                    "for": "2 evaluations",
                    "receivers": ["hook"],
                }
            ],
            "receivers": [{"type": "webhook", "name": "hook", "url": "http://127.0.0.1:9/x"}],
            "routing": {"group_wait": "0s"},
        }
    )
    receivers = {"hook": RecordingReceiver(config.receivers[0])}
    built = AlertManager(config, tmp_path, receivers=receivers, durable=False)
    yield built
    built.stop()


def test_an_episode_keeps_the_firing_window_even_when_later_ones_come_with_it(
    manager: AlertManager,
) -> None:
    transitions: list[tuple[float, str, float]] = []
    recorder = EpisodeRecorder(
        manager,
        rules={rule.name: rule for rule in manager.config.rules},
        on_transition=lambda now, status, episode: transitions.append(
            (now, status, episode.fired_at)
        ),
    )
    # four windows released at once: B's rate 0.35, 0.30 (fires: 2nd breach), 0.20, 0.45
    recorder.on_evaluations(
        [window(0, 35), window(1, 30), window(2, 20), window(3, 38)], 5 * HOUR, 5 * HOUR
    )
    [episode] = recorder.alerts
    assert episode.window_end_at_firing == 2 * HOUR
    assert episode.value_at_firing == pytest.approx(0.6)
    assert episode.ci_at_firing is not None and episode.ci_at_firing[0] < 0.6
    assert episode.peak_value == pytest.approx(0.4)  # the lowest ratio: a `<` rule
    extremes = episode.extremes
    assert extremes is not None
    assert (extremes.highest_group, extremes.lowest_group) == ("A", "B")
    assert extremes.lowest_rate == pytest.approx(0.3)
    assert episode.resolved_at is None and recorder.firing == 1
    # 0.92: back past the clear threshold
    recorder.on_evaluations([window(4, 46)], 6 * HOUR, 6 * HOUR)
    [episode] = recorder.alerts
    assert episode.resolved_at == 6 * HOUR and recorder.firing == 0
    assert transitions == [(5 * HOUR, "firing", 5 * HOUR), (6 * HOUR, "resolved", 5 * HOUR)]


def test_a_recording_receiver_without_a_receiver_sends_nothing(manager: AlertManager) -> None:
    recorder = EpisodeRecorder(manager)
    recorder.on_evaluations([window(0, 20), window(1, 20)], 2 * HOUR, 2 * HOUR)
    assert manager.tick(2 * HOUR) == 1  # delivered to the recorder, not to 127.0.0.1:9
    [receiver] = manager._receivers.values()
    assert isinstance(receiver, RecordingReceiver)
    [body] = receiver.delivered
    assert body["status"] == "firing" and body["rule"] == "four-fifths"
