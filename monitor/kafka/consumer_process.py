"""A source that runs the Kafka consumer in a child process, so that fetching and parsing
records (kafka-python is pure Python) overlaps with decoding, joining and counting them.

The split is by cost: kafka-python's record parsing takes about as long as everything the
daemon does with an event, so the child only fetches, parses and hands on each partition's
offsets, keys and values as plain lists (:data:`monitor.stream.decode.RecordRun`; pickling a list
of record tuples cost a third as much again as the parsing); decoding runs in the daemon, with the
decoder it hands to :meth:`ProcessSource.poll_decoded`.

The child owns a :class:`monitor.kafka.source.KafkaSource` and streams record batches to the daemon
through a bounded queue (two batches ahead at most, so it never runs far ahead of the pipeline).
It resumes every partition from the positions it has *handed out*: the daemon processes every
batch it receives, in order, before its next checkpoint, so what was handed out is exactly what
the pipeline will have counted. Commands (commit, pause, resume, stop) go the other way. A
batch without records only carries the child's status (lag, whether it owns its partitions) and is
dropped when the queue is full: the child never blocks on one, so it keeps polling, which a
rebalance needs (see :mod:`monitor.kafka.source`).

The child dies with its parent (``PR_SET_PDEATHSIG``): a daemon killed with SIGKILL never leaves
a consumer behind holding its partitions. It ignores SIGINT/SIGTERM; the daemon stops it: a flag
in shared memory makes a start still waiting for the broker give up at once, and :meth:`close`
kills a child that has not stopped within its timeout.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import queue
import signal
import sys
import time
from collections.abc import Mapping
from typing import Any, NamedTuple

from monitor.config import KafkaSettings
from monitor.kafka.connection import install_connection_log
from monitor.kafka.errors import GroupConflictError, KafkaUnreachableError, SourceError
from monitor.kafka.source import KafkaSource
from monitor.stream.decode import BatchDecoder, DecodedBatch
from monitor.types import StartInterrupted, TopicPartition

logger = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
_AHEAD = 2  # batches the child may have fetched ahead of the pipeline


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class _Status(NamedTuple):
    """What every batch carries besides records: the lag, and whether the child's consumer owns
    every partition (false while the group rebalances)."""

    lag: dict[TopicPartition, int]
    assigned: bool


class _SharedFlag:
    """A flag the daemon sets and the child reads, in shared memory without a lock (so setting it
    from a signal handler can never block)."""

    def __init__(self, context: Any) -> None:
        self._value = context.RawValue("b", 0)

    def set(self) -> None:
        self._value.value = 1

    def is_set(self) -> bool:
        return bool(self._value.value)


# Errors the child reports at start, by kind.
_START_ERRORS: dict[str, type[SourceError]] = {
    "conflict": GroupConflictError,
    "unreachable": KafkaUnreachableError,
}


def _child(
    settings: KafkaSettings,
    instance_id: str,
    positions: dict[TopicPartition, int],
    batches: Any,
    commands: Any,
    parent: int,
    log_level: int,
    interrupted: _SharedFlag,
) -> None:
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(
        level=log_level,
        format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s",
        stream=sys.stderr,
    )
    install_connection_log(settings.bootstrap_servers, log_level)
    if os.getppid() != parent:
        return
    source = KafkaSource(settings, instance_id, interrupted=interrupted)
    try:
        source.start(positions)
    except StartInterrupted:
        return  # the daemon is stopping and no longer waits for a message
    except SourceError as error:
        kind = next(
            (kind for kind, cls in _START_ERRORS.items() if isinstance(error, cls)), "source"
        )
        batches.put(("error", kind, str(error)))
        return
    batches.put(("started", source.partitions(), None))
    max_records = settings.max_poll_records
    timeout = settings.poll_timeout_ms / 1000.0
    pending: tuple[str, Any, Any] | None = None
    while True:
        while True:
            try:
                command, argument = commands.get_nowait()
            except queue.Empty:
                break
            if command == "stop":
                source.close(argument)
                batches.put(("stopped", None, None))
                return
            if command == "commit":
                source.commit(argument)
            elif command == "pause":
                source.pause()
            elif command == "resume":
                source.resume()
        if pending is None:
            runs = source.poll_runs(max_records, timeout)
            status = _Status(source.lag(source.handed_out), source.is_ready())
            if not runs:  # only the status: dropped rather than waited for
                with contextlib.suppress(queue.Full):
                    batches.put_nowait(("batch", None, status))
                continue
            pending = ("batch", runs, status)
        try:
            batches.put(pending, timeout=0.2)
            pending = None
        except queue.Full:
            continue


class ProcessSource:
    """A :class:`monitor.types.Source` with the Kafka consumer in a child process."""

    def __init__(self, settings: KafkaSettings, instance_id: str) -> None:
        self.settings = settings
        self.instance_id = instance_id
        context = multiprocessing.get_context("spawn")
        self._context = context
        self._batches: Any = context.Queue(maxsize=_AHEAD)
        self._commands: Any = context.Queue()
        self._process: Any = None
        self._status = _Status({}, False)
        self._partitions: set[TopicPartition] = set()
        self._ready = False
        self._interrupted = _SharedFlag(context)
        self._stop_requested = False

    def start(self, positions: Mapping[TopicPartition, int]) -> None:
        process = self._context.Process(
            target=_child,
            args=(
                self.settings,
                self.instance_id,
                dict(positions),
                self._batches,
                self._commands,
                os.getpid(),
                logging.getLogger().level,
                self._interrupted,
            ),
            name="fairwatch-consumer",
            daemon=True,
        )
        process.start()
        self._process = process  # only a started process is stopped by close()
        while True:
            if self._stop_requested:
                raise StartInterrupted("stop requested while the consumer process was starting")
            try:
                kind, first, second = self._batches.get(timeout=0.2)
            except queue.Empty:
                if self._stop_requested:  # the child gave up because it was asked to
                    raise StartInterrupted(
                        "stop requested while the consumer process was starting"
                    ) from None
                if not self._process.is_alive():
                    raise SourceError("the consumer process exited at start") from None
                continue
            if kind == "started":
                self._partitions = set(first)
                self._status = _Status({}, True)
                self._ready = True
                return
            if kind == "error":
                self._process.join(timeout=5)
                raise _START_ERRORS.get(first, SourceError)(second)

    def poll_decoded(
        self, max_records: int, timeout: float, decoder: BatchDecoder
    ) -> DecodedBatch | None:
        """The next batch the child fetched, decoded (``None`` when none came within
        ``timeout``); the child polls ``kafka.max_poll_records`` at a time."""
        try:
            kind, batch, status = self._batches.get(timeout=timeout)
        except queue.Empty:
            if self._process is not None and not self._process.is_alive():
                raise SourceError("the consumer process died") from None
            return None
        if kind != "batch":
            return None
        self._status = status
        if batch is None:
            return None
        return decoder.runs(batch)

    def commit(self, positions: Mapping[TopicPartition, int]) -> None:
        self._commands.put(("commit", dict(positions)))

    def pause(self) -> None:
        self._commands.put(("pause", None))

    def resume(self) -> None:
        self._commands.put(("resume", None))

    def lag(self, positions: Mapping[TopicPartition, int]) -> dict[TopicPartition, int]:
        return dict(self._status.lag)

    def partitions(self) -> set[TopicPartition]:
        return set(self._partitions)

    def is_ready(self) -> bool:
        """Whether the child runs and, as of its last batch, owns every partition."""
        return (
            self._ready
            and self._status.assigned
            and self._process is not None
            and self._process.is_alive()
        )

    def is_idle(self) -> bool:
        return False

    def interrupt(self) -> None:
        """Make a start still in progress give up (safe from a signal handler)."""
        self._stop_requested = True
        self._interrupted.set()

    def close(self, timeout: float = 10.0) -> None:
        """Stop the child within ``timeout`` seconds: it leaves the group, or is killed when it
        has not exited by then. Records it fetched ahead are dropped, which is safe: they are
        after the positions the daemon checkpoints."""
        if self._process is None:
            return
        deadline = time.monotonic() + timeout
        self.interrupt()  # a child still starting gives up
        self._commands.put(("stop", max(0.5, timeout - 1.5)))  # its share: closing the consumer
        self._ready = False
        process, self._process = self._process, None
        while time.monotonic() < deadline:
            try:
                kind, _a, _b = self._batches.get(timeout=0.1)
                if kind == "stopped":
                    break
            except queue.Empty:
                if not process.is_alive():
                    break
        process.join(timeout=max(0.1, deadline - time.monotonic()))
        if process.is_alive():
            logger.warning("event=consumer_process_killed reason=not_stopped waited=%.1fs", timeout)
            process.kill()
            process.join(timeout=2)
        self._commands.cancel_join_thread()  # nobody reads what is left
