"""The InfluxDB writer's decisions on a failed write, against a write API that answers as told:
retried with backoff, split when too large, given up when rejected; and how failures are named."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from influxdb_client.rest import ApiException

from monitor.sinks.influx_writer import InfluxWriter, classify, describe


class ScriptedWriteApi:
    """Answers each write with the next outcome (an exception to raise, or None), then None."""

    def __init__(self, *outcomes: BaseException | None) -> None:
        self.outcomes = list(outcomes)
        self.writes: list[list[str]] = []

    def write(self, *, record: list[str], **_kwargs: Any) -> None:
        self.writes.append(list(record))
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome


def http_error(status: int, body: bytes = b"") -> ApiException:
    error = ApiException(status=status, reason="status")
    error.body = body
    return error


def writer(api: ScriptedWriteApi, sizes: list[int]) -> InfluxWriter:
    return InfluxWriter(
        api,
        "bucket",
        "org",
        retry_initial=0.001,
        retry_max=0.002,
        abandon=threading.Event(),
        on_too_large=sizes.append,
    )


def test_a_failed_write_is_retried_until_it_is_written() -> None:
    api = ScriptedWriteApi(http_error(503), ConnectionError("refused"))
    sink_writer = writer(api, [])
    sink_writer.send(["a", "b"])
    assert api.writes == [["a", "b"]] * 3
    assert (sink_writer.rows_written, sink_writer.retries) == (2, 2)
    assert sink_writer.failures_by_reason() == {"server_error": 1, "connection": 1}
    assert sink_writer.last_write_ok is True and sink_writer.last_error is None


def test_a_batch_too_large_is_split_and_later_batches_are_smaller() -> None:
    api = ScriptedWriteApi(http_error(413))
    sizes: list[int] = []
    sink_writer = writer(api, sizes)
    sink_writer.send(["a", "b", "c", "d"])
    assert api.writes == [["a", "b", "c", "d"], ["a", "b"], ["c", "d"]]
    assert sizes == [2] and sink_writer.rows_written == 4


def test_a_rejected_batch_is_given_up_and_reported_once() -> None:
    api = ScriptedWriteApi(http_error(400, b"field type conflict"))
    sink_writer = writer(api, [])
    sink_writer.send(["a"])
    assert sink_writer.rows_rejected == 1 and sink_writer.rows_written == 0
    assert sink_writer.take_rejected() == ["b'field type conflict'"]
    assert sink_writer.take_rejected() == []
    assert sink_writer.failures_by_reason() == {"bad_request": 1}


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (http_error(401), "unauthorized"),
        (http_error(404), "not_found"),
        (http_error(429), "rate_limited"),
        (http_error(500), "server_error"),
        (http_error(418), "http_418"),
        (TimeoutError("read"), "timeout"),
        (ConnectionError("refused"), "connection"),
    ],
)
def test_failures_are_named_by_kind(error: BaseException, reason: str) -> None:
    assert classify(error) == reason


def test_a_failure_is_described_in_one_line() -> None:
    assert describe(http_error(503, b"overloaded\n  try later")) == (
        "HTTP 503 status overloaded try later"
    )
