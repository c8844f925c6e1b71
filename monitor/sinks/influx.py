"""The InfluxDB sink: rows buffered in memory, written in batches by one thread, retried forever.

Only ``POST /api/v2/write`` is used on the hot path (and ``/ping`` for readiness), which both
InfluxDB 2.x and the 2.x compatibility API of InfluxDB 1.8 serve; on 1.8 the bucket is
``database/retention-policy`` (``fairwatch/autogen``) and the org is ignored. Rows are encoded
as line protocol (:mod:`monitor.sinks.line_protocol`) when they are buffered and written by
:class:`monitor.sinks.influx_writer.InfluxWriter`.

Nothing is dropped while the server is away: the buffer grows, :meth:`InfluxSink.backlog` reports
its size and :meth:`InfluxSink.is_full` tells the caller to pause consumption. Writing the same
point again (same measurement, tags and window end) replaces it, both in the buffer (the newer
values win before they are sent) and in InfluxDB.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

import httpx
from influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS

from monitor.config.sections import (
    DEFAULT_INFLUX_BATCH_SIZE,
    DEFAULT_INFLUX_BUFFER_POINTS,
    DEFAULT_INFLUX_FLUSH_INTERVAL,
)
from monitor.engine.results import WindowEvaluation
from monitor.sinks.counters import (
    BACKLOG_ROWS,
    ROWS_REJECTED,
    ROWS_WRITTEN,
    WRITE_FAILURES,
    WRITE_RETRIES,
)
from monitor.sinks.errors import SinkClosedError, SinkRejectedError, SinkUnavailableError
from monitor.sinks.influx_writer import InfluxWriter
from monitor.sinks.line_protocol import Identity, encode
from monitor.sinks.points import Row, evaluation_rows, influx_row, pipeline_rows
from monitor.types import CounterSample

logger = logging.getLogger(__name__)


class InfluxSink:
    """Writes evaluations and pipeline counters to InfluxDB (1.8 compat API or 2.x).

    Args:
        url: server URL, e.g. ``http://influxdb:8086``.
        token: API token (2.x) or ``user:password`` (1.8; any value when auth is off).
        org: organisation name (2.x); ignored by 1.8.
        bucket: bucket name (2.x) or ``database/retention-policy`` (1.8).
        batch_size: most lines per write request.
        flush_interval: seconds a row may wait for a batch to fill before it is sent anyway.
        max_backlog: rows buffered before :meth:`is_full` says to pause consumption. Rows are
            never dropped: the bound is what the caller uses to apply back-pressure.
        timeout: seconds per HTTP request.
        retry_initial, retry_max: exponential backoff (with jitter) between retries, in seconds.
        flush_timeout: default seconds :meth:`flush` waits before raising.
        close_timeout: default seconds :meth:`close` waits for the backlog before giving up
            (short: the daemon flushes with its own shutdown timeout first, and windows not
            confirmed written are re-evaluated after a restart).
    """

    name = "influxdb"

    def __init__(
        self,
        url: str,
        token: str,
        org: str,
        bucket: str,
        *,
        batch_size: int = DEFAULT_INFLUX_BATCH_SIZE,
        flush_interval: float = DEFAULT_INFLUX_FLUSH_INTERVAL,
        max_backlog: int = DEFAULT_INFLUX_BUFFER_POINTS,
        timeout: float = 10.0,
        retry_initial: float = 0.5,
        retry_max: float = 30.0,
        flush_timeout: float = 30.0,
        close_timeout: float = 5.0,
    ) -> None:
        if batch_size < 1 or max_backlog < 1:
            raise ValueError("batch_size and max_backlog must be at least 1")
        self.url = url
        self.bucket = bucket
        self.org = org or "-"
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_backlog = max_backlog
        self.flush_timeout = flush_timeout
        self.close_timeout = close_timeout
        self._client = InfluxDBClient(
            url=url, token=token, org=self.org, timeout=int(timeout * 1000)
        )
        self._cond = threading.Condition()
        self._pending: dict[Identity, str] = {}
        self._oldest_pending: float | None = None
        self._inflight = 0
        self._flush_waiters = 0
        self._closing = False
        self._abandon = threading.Event()
        self._writer = InfluxWriter(
            self._client.write_api(write_options=SYNCHRONOUS),
            bucket,
            self.org,
            retry_initial=retry_initial,
            retry_max=retry_max,
            abandon=self._abandon,
            on_too_large=self._use_batch_size,
        )
        self._thread = threading.Thread(target=self._run, name="influx-sink", daemon=True)
        self._thread.start()

    # -- MetricsSink -------------------------------------------------------------------------

    def on_evaluations(
        self, evaluations: Sequence[WindowEvaluation], now: float, watermark: float
    ) -> None:
        """Buffer the rows of ``evaluations``; they are written in the background."""
        self.write_rows(evaluation_rows(evaluations))

    def write_pipeline(self, samples: Sequence[CounterSample], now: float) -> None:
        """Buffer one ``fairwatch_pipeline`` point per label set, at time ``now``."""
        self.write_rows(pipeline_rows(samples, now))

    def write_rows(self, rows: Sequence[Row]) -> None:
        """Buffer ``rows``; a row with the identity of a buffered one replaces it."""
        if not rows:
            return
        encoded = [encode(influx_row(row)) for row in rows]
        with self._cond:
            if self._closing:
                raise SinkClosedError("the InfluxDB sink is closed")
            for series, fields, timestamp in encoded:
                if fields:
                    self._pending[(series, timestamp)] = fields
            if self._oldest_pending is None:
                self._oldest_pending = time.monotonic()
            self._cond.notify_all()

    def flush(self, timeout: float | None = None) -> None:
        """Block until every buffered row is written.

        Raises :class:`SinkUnavailableError` when the server did not take them within
        ``timeout`` seconds (default ``flush_timeout``; the rows stay buffered and are still
        retried), and :class:`SinkRejectedError` when rows were rejected as invalid since the
        last flush.
        """
        limit = self.flush_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        with self._cond:
            self._flush_waiters += 1
            self._cond.notify_all()
            try:
                while self._pending or self._inflight:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or not self._thread.is_alive():
                        raise SinkUnavailableError(
                            f"InfluxDB at {self.url} did not accept {self.backlog()} buffered "
                            f"rows within {limit:.1f}s (last error: {self._writer.last_error}); "
                            "check that the server is up and the token and bucket are right"
                        )
                    self._cond.wait(remaining)
            finally:
                self._flush_waiters -= 1
        rejected = self._writer.take_rejected()
        if rejected:
            raise SinkRejectedError(
                f"InfluxDB at {self.url} rejected {len(rejected)} batch(es) as invalid: "
                + "; ".join(rejected[:3])
            )

    def close(self, timeout: float | None = None) -> None:
        """Flush (bounded by ``timeout``, default ``close_timeout``), stop the writer thread and
        release the client.

        Rows that could not be written in time are logged as lost; close never raises for them.
        """
        with self._cond:
            if self._closing:
                return
        try:
            self.flush(self.close_timeout if timeout is None else timeout)
        except (SinkUnavailableError, SinkRejectedError) as error:
            logger.error("influx_sink_close_incomplete backlog=%d error=%r", self.backlog(), error)
        with self._cond:
            self._closing = True
            self._abandon.set()
            self._cond.notify_all()
        self._thread.join(timeout=2.0)  # a request in flight ends with its own timeout
        self._client.close()

    # -- back-pressure and health ------------------------------------------------------------

    def backlog(self) -> int:
        """Rows accepted but not yet written (buffered plus in flight)."""
        return len(self._pending) + self._inflight

    def is_full(self) -> bool:
        """True when the backlog reached ``max_backlog``: pause consuming until it drains."""
        return self.backlog() >= self.max_backlog

    def wait_for_space(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds until :meth:`is_full` is false; return whether it is."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.is_full():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def is_reachable(self, timeout: float = 2.0) -> bool:
        """True when the server answers ``/ping`` within ``timeout`` seconds and the last write
        (if any) succeeded: the readiness check ``sink_reachable``."""
        try:
            response = httpx.get(f"{self.url.rstrip('/')}/ping", timeout=timeout)
        except httpx.HTTPError:
            return False
        return response.status_code < 300 and self._writer.last_write_ok is not False

    def samples(self) -> list[CounterSample]:
        """The sink's own counters (for ``/metrics`` and the ``fairwatch_pipeline`` measurement)."""
        sink = self.name
        writer = self._writer
        result = [
            ROWS_WRITTEN.sample(writer.rows_written, sink=sink),
            ROWS_REJECTED.sample(writer.rows_rejected, sink=sink),
            WRITE_RETRIES.sample(writer.retries, sink=sink),
            BACKLOG_ROWS.sample(self.backlog(), sink=sink),
        ]
        for reason, count in sorted(writer.failures_by_reason().items()):
            result.append(WRITE_FAILURES.sample(count, sink=sink, reason=reason))
        return result

    # -- writer thread -----------------------------------------------------------------------

    def _use_batch_size(self, size: int) -> None:
        """Cut batches of at most ``size`` lines from now on (the server refused a larger one)."""
        self.batch_size = size

    def _due(self) -> bool:
        if not self._pending:
            return False
        if self._closing or self._flush_waiters or len(self._pending) >= self.batch_size:
            return True
        oldest = self._oldest_pending or time.monotonic()
        return time.monotonic() - oldest >= self.flush_interval

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._due():
                    if self._closing:
                        return
                    wait = self.flush_interval if self._pending else None
                    self._cond.wait(wait)
                if self._abandon.is_set():
                    return
                batch: list[str] = []
                while self._pending and len(batch) < self.batch_size:
                    (series, timestamp) = identity = next(iter(self._pending))
                    batch.append(f"{series} {self._pending.pop(identity)} {timestamp}")
                self._inflight = len(batch)
                self._oldest_pending = time.monotonic() if self._pending else None
            self._writer.send(batch)
            with self._cond:
                self._inflight = 0
                self._cond.notify_all()
