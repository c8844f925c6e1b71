"""Tickers drive the alert manager's timers: it owns no thread and reads no clock."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from alerting import AlertManager
from alerting.errors import AlertingError
from alerting.tickers import ManualTicker, SchedulerTicker
from tests.alerting.alert_builders import HOUR, T0, config, evaluation, webhook
from tests.alerting.alert_servers import Reply, always


def wait_until(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def recorder(ticks: list[float], delivered: int = 0) -> Callable[[float], int]:
    """A tick that records each ``now`` and says it delivered ``delivered``."""

    def tick(now: float) -> int:
        ticks.append(now)
        return delivered

    return tick


def test_a_manual_ticker_ticks_at_each_interval_it_passes() -> None:
    ticks: list[float] = []
    clock = ManualTicker(100.0, every=60.0)
    clock.advance(200.0)  # not started: time passes, nothing ticks
    assert (ticks, clock()) == ([], 200.0)
    clock.start(recorder(ticks, delivered=2))
    clock.advance(400.0)
    assert ticks == [220.0, 280.0, 340.0, 400.0]  # the first tick not yet passed was at 220
    assert (clock(), clock.delivered) == (400.0, 8)
    clock.advance(399.0)  # never backwards
    assert clock() == 400.0
    clock.stop()
    clock.advance(1000.0)
    assert len(ticks) == 4


def test_a_manual_ticker_needs_a_positive_interval() -> None:
    with pytest.raises(ValueError, match="positive"):
        ManualTicker(0.0, every=0.0)


def test_the_manager_is_ticked_by_its_injected_manual_clock(http_server, tmp_path: Path) -> None:
    server = http_server(always(Reply(200)))
    clock = ManualTicker(T0, every=10.0)
    manager = AlertManager(config([webhook("hook", server.url)]), tmp_path, ticker=clock)
    manager.start()
    manager.on_evaluations([evaluation(0.12, T0)], T0)
    fired = T0 + HOUR
    clock.advance(fired)
    manager.on_evaluations([evaluation(0.13, fired)], fired)  # fires: group_wait 30 s
    clock.advance(fired + 29)
    assert server.requests == []
    clock.advance(fired + 30)  # the tick at fired + 30 flushes and delivers
    assert [request.json()["status"] for request in server.requests] == ["firing"]
    assert clock.delivered == 1
    manager.stop()
    clock.advance(fired + HOUR)  # stopped: no more ticks (the store is closed)


def test_start_without_a_ticker_says_so(tmp_path: Path) -> None:
    manager = AlertManager(config([]), tmp_path)
    with pytest.raises(AlertingError, match="no ticker"):
        manager.start()
    manager.stop()


def test_the_scheduler_ticker_reads_its_injected_clock() -> None:
    ticks: list[float] = []
    ticker = SchedulerTicker(0.02, clock=lambda: 1234.5)
    ticker.start(recorder(ticks))
    ticker.start(recorder([]))  # started already: changes nothing
    try:
        assert wait_until(lambda: len(ticks) >= 3)
    finally:
        ticker.stop()
    assert set(ticks) == {1234.5}
    count = len(ticks)
    time.sleep(0.1)
    assert len(ticks) == count  # stopped


def test_a_failing_tick_is_logged_and_the_next_one_runs(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[float] = []
    failed = threading.Event()

    def tick(now: float) -> int:
        calls.append(now)
        if len(calls) == 1:
            failed.set()
            raise RuntimeError("store busy")
        return 0

    ticker = SchedulerTicker(0.02)
    with caplog.at_level(logging.ERROR, logger="fairwatch.alerting"):
        ticker.start(tick)
        try:
            assert wait_until(lambda: len(calls) >= 2)
        finally:
            ticker.stop()
    assert failed.is_set()
    assert "event=alerting_tick_failed" in caplog.text
