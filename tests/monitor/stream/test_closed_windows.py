"""The closed-window gate: each window reaches the alert manager once, after it has closed."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from monitor.engine.results import WindowEvaluation
from monitor.stream.closed_windows import ClosedWindowGate

HOUR = 3600.0


def window(start_hour: float, size_hours: float = 12.0, model: str = "m") -> WindowEvaluation:
    start = start_hour * HOUR
    return WindowEvaluation(model, "12h/2h", start, start + size_hours * HOUR, (), ())


class Collector:
    def __init__(self) -> None:
        self.batches: list[list[tuple[str, float]]] = []

    def on_evaluations(
        self, evaluations: Sequence[WindowEvaluation], now: float, watermark: float
    ) -> None:
        self.batches.append([(e.model_id, e.window_end / HOUR) for e in evaluations])

    @property
    def ends(self) -> list[float]:
        return [end for batch in self.batches for _model, end in batch]


@pytest.fixture
def clock() -> list[float]:
    return [0.0]  # the pipeline's watermark, in hours (handed to the gate with each call)


def make(clock: list[float]) -> tuple[ClosedWindowGate, Collector]:
    collector = Collector()
    return ClosedWindowGate([collector]), collector


def test_an_open_window_is_held_until_the_watermark_passes_its_end(clock: list[float]) -> None:
    gate, seen = make(clock)
    clock[0] = 11.0
    gate.on_evaluations([window(0)], now=0.0, watermark=clock[0] * HOUR)
    assert seen.ends == [] and gate.held == 1
    clock[0] = 12.0
    gate.on_evaluations([window(2)], now=0.0, watermark=clock[0] * HOUR)
    assert seen.ends == [12.0] and gate.held == 1


def test_only_the_latest_evaluation_of_a_window_is_released(clock: list[float]) -> None:
    gate, seen = make(clock)
    first, second = window(0), window(0)
    gate.on_evaluations([first], now=0.0, watermark=clock[0] * HOUR)
    gate.on_evaluations([second], now=0.0, watermark=clock[0] * HOUR)
    clock[0] = 20.0
    released = gate.release(now=0.0, watermark=clock[0] * HOUR)
    assert [evaluation is second for evaluation in released] == [True]
    assert seen.ends == [12.0]


def test_revisions_of_released_windows_are_not_passed_on(clock: list[float]) -> None:
    gate, seen = make(clock)
    clock[0] = 14.0
    gate.on_evaluations([window(0), window(2)], now=0.0, watermark=clock[0] * HOUR)
    # late labels revise both
    gate.on_evaluations([window(0), window(2)], now=1.0, watermark=clock[0] * HOUR)
    assert seen.ends == [12.0, 14.0]
    assert gate.revisions_ignored == 2


def test_windows_are_released_in_order_of_their_end(clock: list[float]) -> None:
    gate, seen = make(clock)
    gate.on_evaluations([window(4), window(0), window(2)], now=0.0, watermark=clock[0] * HOUR)
    clock[0] = 100.0
    gate.release(now=0.0, watermark=clock[0] * HOUR)
    assert seen.ends == [12.0, 14.0, 16.0]


def test_models_are_gated_separately(clock: list[float]) -> None:
    gate, seen = make(clock)
    clock[0] = 12.0
    gate.on_evaluations([window(0, model="a")], now=0.0, watermark=clock[0] * HOUR)
    gate.on_evaluations([window(0, model="b")], now=0.0, watermark=clock[0] * HOUR)
    assert seen.batches == [[("a", 12.0)], [("b", 12.0)]]


def test_a_delay_holds_closed_windows_until_their_labels_had_time(clock: list[float]) -> None:
    collector = Collector()
    gate = ClosedWindowGate([collector], delay=24 * HOUR)
    clock[0] = 13.0
    gate.on_evaluations([window(0)], now=0.0, watermark=clock[0] * HOUR)
    assert collector.ends == []
    clock[0] = 36.0
    gate.on_evaluations([window(24)], now=0.0, watermark=clock[0] * HOUR)
    assert collector.ends == [12.0]


def test_after_a_restart_windows_judged_before_it_are_not_judged_again(clock: list[float]) -> None:
    gate, seen = make(clock)
    gate.resume(14 * HOUR)
    clock[0] = 16.0
    gate.on_evaluations([window(0), window(2), window(4)], now=0.0, watermark=clock[0] * HOUR)
    assert seen.ends == [16.0]
    assert gate.revisions_ignored == 2


def test_counters_report_released_ignored_and_held(clock: list[float]) -> None:
    gate, _seen = make(clock)
    clock[0] = 12.0
    gate.on_evaluations([window(0), window(2)], now=0.0, watermark=clock[0] * HOUR)
    gate.on_evaluations([window(0)], now=0.0, watermark=clock[0] * HOUR)
    values = {sample.name: sample.value for sample in gate.samples()}
    assert values == {
        "fairwatch_alert_windows_released_total": 1,
        "fairwatch_alert_windows_revisions_ignored_total": 1,
        "fairwatch_alert_windows_held": 1,
    }


def test_a_negative_delay_is_refused() -> None:
    with pytest.raises(ValueError, match="delay"):
        ClosedWindowGate([], delay=-1.0)


def test_decide_chooses_the_windows_the_rules_would_judge() -> None:
    """For a run whose only reader is the rules: evaluate a window when the gate would release
    it, keep it while it is open, skip it once released (a revision)."""
    collector = Collector()
    gate = ClosedWindowGate([collector], delay=HOUR)
    end = 12 * HOUR
    assert gate.decide("m", "12h/2h", end, 12.5 * HOUR) == "wait"  # closed, within the delay
    watermark = 13 * HOUR
    assert gate.decide("m", "12h/2h", end, watermark) == "evaluate"
    gate.on_evaluations([window(0)], now=0.0, watermark=watermark)
    assert collector.ends == [12.0]
    assert gate.decide("m", "12h/2h", end, watermark) == "skip"
    assert gate.decide("m", "12h/2h", 10 * HOUR, watermark) == "skip"  # older than one released
    assert gate.decide("other", "12h/2h", end, watermark) == "evaluate"  # another series
    assert gate.decide("m", "12h/2h", 14 * HOUR, watermark) == "wait"
    gate.resume(30 * HOUR)
    assert gate.decide("other", "12h/2h", 20 * HOUR, watermark) == "skip"  # judged before a restart


def test_released_windows_come_with_the_watermark_they_were_released_at() -> None:
    seen: list[float] = []

    class Listener:
        def on_evaluations(
            self, evaluations: Sequence[WindowEvaluation], now: float, watermark: float
        ) -> None:
            seen.append(watermark)

    gate = ClosedWindowGate([Listener()])
    gate.on_evaluations([window(0)], now=0.0, watermark=11 * HOUR)
    gate.on_evaluations([], now=1.0, watermark=12 * HOUR)
    assert seen == [12 * HOUR]
