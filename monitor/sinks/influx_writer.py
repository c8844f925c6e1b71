"""Writing one batch of line-protocol lines to InfluxDB: retried with backoff until it is written,
rejected as invalid or abandoned, and counted (the InfluxDB sink's writer thread calls it).

Only ``POST /api/v2/write`` is used, which both InfluxDB 2.x and the 2.x compatibility API of
InfluxDB 1.8 serve. A batch the server finds too large (HTTP 413) is split in halves, and the sink
is told to cut smaller batches from then on.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from typing import Any

from influxdb_client import WritePrecision
from influxdb_client.rest import ApiException

logger = logging.getLogger(__name__)


class _Rejected(Exception):
    """The server refused a batch as invalid (not retried)."""


class _TooLarge(Exception):
    """The server refused a batch as too large (split and retried)."""


def classify(error: BaseException) -> str:
    """The reason of a failed write, for counters and logs (all of these are retried)."""
    if isinstance(error, ApiException):
        status = int(error.status or 0)
        if status in (401, 403):
            return "unauthorized"
        if status == 404:
            return "not_found"
        if status == 429:
            return "rate_limited"
        if status >= 500:
            return "server_error"
        return f"http_{status}"
    name = type(error).__name__.lower()
    return "timeout" if "timeout" in name else "connection"


def describe(error: BaseException) -> str:
    """One line saying what went wrong (the server's message for HTTP errors)."""
    if isinstance(error, ApiException):
        body = error.body.decode("utf-8", "replace") if isinstance(error.body, bytes) else ""
        text = f"HTTP {error.status} {error.reason or ''} {body or ''}"
    else:
        text = f"{type(error).__name__}: {error}"
    return " ".join(text.split())[:300]


class InfluxWriter:
    """Writes batches with ``write_api`` (influxdb-client's synchronous write API).

    Args:
        write_api, bucket, org: where the lines go.
        retry_initial, retry_max: exponential backoff (with jitter) between retries, in seconds.
        abandon: set when the sink closes: a batch still retried then is given up.
        on_too_large: called with a smaller batch size when the server refused a batch as too
            large.
    """

    def __init__(
        self,
        write_api: Any,
        bucket: str,
        org: str,
        *,
        retry_initial: float,
        retry_max: float,
        abandon: threading.Event,
        on_too_large: Callable[[int], None],
    ) -> None:
        self._write_api = write_api
        self.bucket = bucket
        self.org = org
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self._abandon = abandon
        self._on_too_large = on_too_large
        self._lock = threading.Lock()
        self.last_error: str | None = None
        self.last_write_ok: bool | None = None
        self.rows_written = 0
        self.rows_rejected = 0
        self.retries = 0
        self.failures: dict[str, int] = {}
        self._rejected_since: list[str] = []

    def take_rejected(self) -> list[str]:
        """The messages of the batches rejected since the last call."""
        with self._lock:
            rejected, self._rejected_since = self._rejected_since, []
        return rejected

    def failures_by_reason(self) -> dict[str, int]:
        """Failed write attempts so far, by reason."""
        with self._lock:
            return dict(self.failures)

    def _http_write(self, lines: list[str]) -> None:
        try:
            self._write_api.write(
                bucket=self.bucket, org=self.org, record=lines, write_precision=WritePrecision.NS
            )
        except ApiException as error:
            if error.status == 400:
                raise _Rejected(str(error.body or error.reason)) from error
            if error.status == 413:
                raise _TooLarge() from error
            raise

    def send(self, batch: list[str]) -> None:
        """Write one batch, retrying with backoff until it is written, rejected or abandoned."""
        delay = self.retry_initial
        while not self._abandon.is_set():
            try:
                self._http_write(batch)
            except _Rejected as error:
                self._record_rejected(batch, str(error))
                return
            except _TooLarge:
                if len(batch) == 1:
                    self._record_rejected(batch, "a single line is larger than the server accepts")
                    return
                self._count_failure("too_large")
                self._on_too_large(max(1, len(batch) // 2))
                middle = len(batch) // 2
                self.send(batch[:middle])
                self.send(batch[middle:])
                return
            except Exception as error:  # every other failure is retried: never drop rows
                reason = classify(error)
                self._count_failure(reason)
                self.last_write_ok = False
                self.last_error = f"{reason}: {describe(error)}"
                logger.warning(
                    "influx_write_failed reason=%s lines=%d retry_in=%.2fs error=%s",
                    reason,
                    len(batch),
                    delay,
                    self.last_error,
                )
                self.retries += 1
                self._abandon.wait(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, self.retry_max)
                continue
            if self.last_write_ok is False:
                logger.info("influx_write_recovered lines=%d", len(batch))
            self.last_write_ok = True
            self.last_error = None
            with self._lock:
                self.rows_written += len(batch)
            return
        # abandoned while closing: the rows were reported as lost by the sink's close()

    def _count_failure(self, reason: str) -> None:
        with self._lock:
            self.failures[reason] = self.failures.get(reason, 0) + 1

    def _record_rejected(self, batch: list[str], message: str) -> None:
        logger.error("influx_write_rejected lines=%d error=%s", len(batch), message[:300])
        with self._lock:
            self.rows_rejected += len(batch)
            self._rejected_since.append(message[:300])
            self.failures["bad_request"] = self.failures.get("bad_request", 0) + 1
