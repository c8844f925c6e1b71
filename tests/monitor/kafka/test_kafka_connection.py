"""monitor/kafka/connection.py: one log line per connection state change, and a client
constructor that gives up in time (against a closed port: no server needed)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from monitor.kafka.connection import ConnectionLog, StartInterrupted, create_client
from tests.waiting import wait_until

BOOTSTRAP = "kafka-1:9092,kafka-2:9092"


def record(message: str, level: int = logging.ERROR, at: float = 0.0) -> logging.LogRecord:
    """A kafka-python log record (its template is ``message``) created at time ``at``."""
    made = logging.LogRecord("kafka.net.manager", level, __file__, 1, message, (), None)
    made.created = at
    return made


FAILED = "Connection failed: KafkaConnectionError: 111 ECONNREFUSED"
LOST = "%s: Connection lost: %s"
CONNECTED = "%s: Connected"
BOOTSTRAPPED = "Bootstrap complete: %s"
METADATA = "Updated metadata: %s"  # INFO, about nothing in particular: only time passes
OTHER_WARNING = "Heartbeat failed for group %s"  # not about connections
SETTLE = 5.0


@pytest.fixture
def handler() -> Iterator[ConnectionLog]:
    made = ConnectionLog(BOOTSTRAP, logging.INFO, settle=SETTLE)
    yield made
    made.close()


def state_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "monitor.kafka.connection"]


Line = tuple[str, int, float]


def connected(at: float) -> Line:
    return (CONNECTED, logging.INFO, at)


def failed(at: float, template: str = FAILED) -> Line:
    return (template, logging.ERROR, at)


def later(at: float) -> Line:
    """Any record at time ``at`` (kafka-python logs some now and then): only time passes."""
    return (METADATA, logging.INFO, at)


# (intent, records, expected state lines as prefixes)
CASES: list[tuple[str, list[Line], list[str]]] = [
    ("connected at once: nothing to say", [(BOOTSTRAPPED, logging.INFO, 0)], []),
    (
        "failures before the first connection are the start-up wait's: only the late success",
        [failed(10), failed(11), connected(25), later(30)],
        [f"event=kafka_reachable bootstrap={BOOTSTRAP} down_for=15s suppressed=1"],
    ),
    (
        "an outage after running: one line when it goes, one when it is back",
        [
            connected(0),
            *(failed(100 + i, FAILED if i % 2 else LOST) for i in range(200)),
            connected(342),
            later(347),
        ],
        [
            f"event=kafka_unreachable bootstrap={BOOTSTRAP} since=1970-01-01T00:01:40Z "
            'action=retrying error="%s: Connection lost: %s"',
            f"event=kafka_reachable bootstrap={BOOTSTRAP} down_for=242s suppressed=199",
        ],
    ),
    (
        "back only once a connection held for the settle time",
        [connected(0), failed(5), connected(9), later(13)],
        ["event=kafka_unreachable"],
    ),
    (
        "a recovery that does not hold is the same outage",
        [connected(0), failed(5), connected(9), failed(10), connected(20), later(25)],
        ["event=kafka_unreachable", f"event=kafka_reachable bootstrap={BOOTSTRAP} down_for=15s"],
    ),
    (
        "two outages: two pairs of lines",
        [connected(0), failed(5), connected(9), later(14), failed(20), connected(21), later(26)],
        [
            "event=kafka_unreachable",
            "event=kafka_reachable",
            "event=kafka_unreachable",
            "event=kafka_reachable",
        ],
    ),
    ("a second success changes nothing", [connected(0), connected(1)], []),
]


@pytest.mark.parametrize(("intent", "records", "expected"), CASES, ids=[c[0] for c in CASES])
def test_one_line_per_state_change(
    caplog: pytest.LogCaptureFixture,
    handler: ConnectionLog,
    intent: str,
    records: list[Line],
    expected: list[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    for template, level, at in records:
        handler.handle(record(template, level, at))
    lines = state_lines(caplog)
    assert len(lines) == len(expected), lines
    for line, prefix in zip(lines, expected, strict=True):
        assert line.startswith(prefix), (intent, line)


def test_back_after_the_settle_time_even_when_kafka_python_says_nothing_more(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    handler = ConnectionLog(BOOTSTRAP, logging.INFO, settle=0.2)
    try:
        now = time.time()
        handler.handle(record(CONNECTED, logging.INFO, now))
        handler.handle(record(FAILED, logging.ERROR, now))
        handler.handle(record(CONNECTED, logging.INFO, time.time()))
        wait_until(lambda: len(state_lines(caplog)) >= 2, 5, 0.05)
        assert [line.split()[0] for line in state_lines(caplog)] == [
            "event=kafka_unreachable",
            "event=kafka_reachable",
        ]
    finally:
        handler.close()


def test_other_warnings_pass_through_while_reachable_and_are_counted_while_not(
    caplog: pytest.LogCaptureFixture, handler: ConnectionLog
) -> None:
    caplog.set_level(logging.DEBUG)
    handler.handle(record(CONNECTED, logging.INFO))
    handler.handle(record(OTHER_WARNING, logging.WARNING))
    handler.handle(record(METADATA, logging.INFO))  # INFO: not shown at INFO
    assert [r.msg for r in caplog.records if r.name.startswith("kafka")] == [OTHER_WARNING]
    handler.handle(record(FAILED, logging.ERROR, 1))
    handler.handle(record(OTHER_WARNING, logging.WARNING, 2))
    handler.handle(record(CONNECTED, logging.INFO, 3))
    handler.handle(record(METADATA, logging.INFO, 3 + SETTLE))
    assert [r.msg for r in caplog.records if r.name.startswith("kafka")] == [OTHER_WARNING]
    assert state_lines(caplog)[-1].endswith("down_for=2s suppressed=1")


def test_the_same_warning_is_passed_on_at_most_once_a_minute(
    caplog: pytest.LogCaptureFixture, handler: ConnectionLog
) -> None:
    caplog.set_level(logging.DEBUG)
    handler.handle(record(CONNECTED, logging.INFO))
    for at in (10, 20, 69, 71, 80, 140):
        handler.handle(record(OTHER_WARNING, logging.WARNING, at))
    handler.handle(record("Topic %s is not authorized for this client", logging.ERROR, 81))
    shown = [(r.msg, r.created) for r in caplog.records if r.name.startswith("kafka")]
    assert shown == [
        (OTHER_WARNING, 10),
        (OTHER_WARNING, 71),
        (OTHER_WARNING, 140),
        ("Topic %s is not authorized for this client", 81),
    ]


def test_at_debug_kafka_pythons_own_lines_are_shown_too(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    handler = ConnectionLog(BOOTSTRAP, logging.DEBUG)
    handler.handle(record(CONNECTED, logging.INFO))
    handler.handle(record(FAILED, logging.ERROR, 1))
    handler.close()
    assert [r.msg for r in caplog.records if r.name.startswith("kafka")] == [CONNECTED, FAILED]
    assert len(state_lines(caplog)) == 1


def test_a_failure_fairwatch_saw_itself_counts_like_kafka_pythons(
    caplog: pytest.LogCaptureFixture, handler: ConnectionLog
) -> None:
    caplog.set_level(logging.DEBUG)
    handler.handle(record(CONNECTED, logging.INFO, time.time()))
    handler.failure("poll failed: NodeNotReadyError")
    handler.failure("poll failed: NodeNotReadyError")
    lines = state_lines(caplog)
    assert len(lines) == 1 and 'error="poll failed: NodeNotReadyError"' in lines[0]


def test_without_report_the_lines_are_left_to_the_other_process(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    handler = ConnectionLog(BOOTSTRAP, logging.INFO, settle=SETTLE, report=False)
    for template, level, at in [connected(0), failed(5), failed(6), connected(9), later(20)]:
        handler.handle(record(template, level, at))
    handler.close()
    assert caplog.records == []


# -- create_client against a closed port ---------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def kafka_threads() -> set[threading.Thread]:
    """kafka-python's network threads and create_client's helper (other tests' may be left)."""
    return {t for t in threading.enumerate() if t.name.startswith("kafka-")}


def no_new_kafka_threads_within(before: set[threading.Thread], seconds: float) -> bool:
    return wait_until(lambda: not kafka_threads() - before, seconds, 0.05)


def test_create_client_gives_up_after_its_timeout_and_leaves_no_thread_behind() -> None:
    from kafka import KafkaConsumer
    from kafka.errors import KafkaTimeoutError

    before = kafka_threads()
    started = time.monotonic()
    with pytest.raises(KafkaTimeoutError):
        create_client(
            KafkaConsumer, {"bootstrap_servers": [f"127.0.0.1:{closed_port()}"]}, timeout=1.0
        )
    assert 0.9 < time.monotonic() - started < 5.0
    assert no_new_kafka_threads_within(before, 2.0), kafka_threads() - before


def test_create_client_returns_at_once_when_interrupted() -> None:
    from kafka import KafkaConsumer

    before = kafka_threads()
    interrupted = threading.Event()
    threading.Timer(0.5, interrupted.set).start()
    started = time.monotonic()
    with pytest.raises(StartInterrupted):
        create_client(
            KafkaConsumer,
            {"bootstrap_servers": [f"127.0.0.1:{closed_port()}"]},
            timeout=60.0,
            interrupted=interrupted,
        )
    assert time.monotonic() - started < 3.0
    assert no_new_kafka_threads_within(before, 2.0), kafka_threads() - before
