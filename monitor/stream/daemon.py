"""The run loop: poll → process → (periodically) evaluate, write, checkpoint, commit.

The daemon is the only place that reads the wall clock. Each cycle
(``pipeline.checkpoint_interval``) it

1. confirms to the pipeline that the sink wrote everything handed over before (backlog empty),
2. evaluates the changed windows and hands them to the sink and the other listeners (when
   evaluating gets expensive, e.g. while catching up on a backlog, it is spaced out so that it
   takes at most a fifth of the time; windows not yet evaluated are in the checkpoint),
3. makes sure every dead letter so far is acknowledged (else it skips the checkpoint: a crash
   then replays those records and their dead letters instead of losing them),
4. commits the checkpoint (state, pending joins, offsets, windows not yet confirmed written),
5. commits the same offsets to Kafka.

Outages: kafka-python reconnects by itself (polls return nothing meanwhile); the sinks buffer and
retry, and while a sink's buffer is full consumption is paused (never dropped).

SIGTERM or SIGINT, at any moment, stop the daemon within ``shutdown_timeout`` plus
:data:`CLOSE_GRACE` seconds: a source still connecting gives up at once; otherwise the loop ends
and the final cycle flushes the sink and the dead letters within what is left of
``shutdown_timeout`` (counted from the signal), checkpoints and commits; then the source, the
sink, the dead-letter producer and the stop callbacks are closed side by side, each abandoned
(and named in the log) if it is still busy after the grace period. :meth:`Daemon.run` returns 0.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from types import FrameType
from typing import Any

from monitor.stream.counters import (
    CONSUMER_LAG,
    CONSUMPTION_PAUSED,
    EVENTS_DEAD_LETTERED,
    DaemonCounters,
)
from monitor.stream.pipeline import Pipeline
from monitor.types import (
    CounterSample,
    CounterSource,
    DeadLetters,
    MetricsSink,
    Source,
    StartInterrupted,
)

logger = logging.getLogger(__name__)


# After an evaluation that took E seconds the next one waits at least E × this (≤ 20% of time).
EVALUATION_SPACING = 4.0
# Seconds after the shutdown budget (``shutdown_timeout``) that closing may take.
CLOSE_GRACE = 3.0


class Daemon:
    """Drives a :class:`monitor.stream.pipeline.Pipeline` from a source to a sink.

    The daemon keeps its own counters (:attr:`counters`: dead letters sent, consumer lag,
    consumption paused); :meth:`samples` reports them with the pipeline's and the other sources'.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        source: Source,
        dead_letters: DeadLetters,
        sink: MetricsSink,
        *,
        counter_sources: Sequence[CounterSource] = (),
        on_stop: Sequence[Callable[[], None]] = (),
        clock: Callable[[], float] = time.time,
        adaptive_evaluation: bool | None = None,
        instance: str | None = None,
    ) -> None:
        settings = pipeline.config.pipeline
        self.pipeline = pipeline
        self.source = source
        self.dead_letters = dead_letters
        self.sink = sink
        self.counter_sources = list(counter_sources)
        self.on_stop = list(on_stop)
        self.clock = clock
        self.counters = DaemonCounters()
        self.instance = instance or socket.gethostname()
        # Identifies this run of the process: its start time (UTC) and process id.
        self.incarnation = f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{os.getpid()}"
        # Spacing evaluations by their measured cost uses real time; with an injected clock (a
        # simulation, e.g. the demo's replay) evaluation follows the checkpoint interval exactly,
        # so that a run is reproducible.
        self.adaptive_evaluation = (
            clock is time.time if adaptive_evaluation is None else adaptive_evaluation
        )
        self.checkpoint_interval = settings.checkpoint_interval
        self.shutdown_timeout = settings.shutdown_timeout
        self.pipeline_interval = max(5.0, settings.checkpoint_interval)
        self.max_records = pipeline.config.kafka.max_poll_records
        self.poll_timeout = pipeline.config.kafka.poll_timeout_ms / 1000.0
        self.stopping = threading.Event()
        self._next_cycle = 0.0
        self._next_evaluation = 0.0
        self._next_pipeline_write = 0.0
        self._paused = False
        # When the shutdown budget ends (monotonic clock): set by stop() or the final cycle.
        self._deadline: float | None = None
        # Shutdown steps still busy when the process had to go on (see _shutdown).
        self.abandoned: list[str] = []

    # -- control -------------------------------------------------------------------------------

    def stop(self, *_args: Any) -> None:
        """Ask the loop to finish (safe from a signal handler or another thread). The shutdown
        budget starts now; a source still starting gives up at once."""
        if self._deadline is None:
            self._deadline = time.monotonic() + self.shutdown_timeout
        self.stopping.set()
        self.source.interrupt()

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT call :meth:`stop` (install them before :meth:`run`: starting may
        wait up to ``kafka.startup_timeout`` for the broker)."""

        def handler(signum: int, _frame: FrameType | None) -> None:
            logger.info("event=stop_requested signal=%s", signal.Signals(signum).name)
            self.stop()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    # -- loop ----------------------------------------------------------------------------------

    def run(self, stop_when_idle: bool = False) -> int:
        """Run until stopped (or, with ``stop_when_idle``, until the source is drained)."""
        try:
            try:
                self.source.start(dict(self.pipeline.positions))
            except StartInterrupted:
                logger.info("event=start_interrupted reason=stop_requested")
                return 0
            self.pipeline.own_partitions(self.source.partitions())
            self.pipeline.tick(self.clock(), {})  # the clock, before the first batch
            config = self.pipeline.config
            logger.info(
                "event=daemon_started positions=%d group=%s topics=%s,%s windows=%s models=%s "
                "attributes=%s",
                len(self.pipeline.positions),
                config.kafka.group_id,
                config.kafka.predictions_topic,
                config.kafka.labels_topic,
                ",".join(spec.name for spec in config.windows),
                ",".join(config.models) or "any",
                ",".join(config.sensitive.attributes),
            )
            while not self.stopping.is_set():
                self._apply_backpressure()
                got = self._poll_and_process()
                now = self.clock()
                if now >= self._next_cycle:
                    self.cycle(now)
                if stop_when_idle and self.source.is_idle() and not got:
                    break
            self._final_cycle()
        finally:
            self._shutdown()
        return 0

    def _poll_and_process(self) -> bool:
        """One batch from the source into the pipeline; whether there was one."""
        batch = self.source.poll_decoded(self.max_records, self.poll_timeout, self.pipeline.decoder)
        if batch is None:
            return False
        rejected = self.pipeline.process_decoded(batch)
        if rejected:
            self.dead_letters.send(rejected)
            self.counters.inc(EVENTS_DEAD_LETTERED, len(rejected))
        return True

    def _apply_backpressure(self) -> None:
        full = self.sink.is_full()
        if full and not self._paused:
            logger.warning("event=consumption_paused reason=sink_buffer_full")
            self.source.pause()
        elif not full and self._paused:
            logger.info("event=consumption_resumed")
            self.source.resume()
        self._paused = full
        self.counters.set(CONSUMPTION_PAUSED, 1 if full else 0)

    def cycle(self, now: float, final: bool = False) -> bool:
        """Evaluate, write, checkpoint and commit; returns whether the checkpoint was taken."""
        self._next_cycle = now + self.checkpoint_interval
        if self.sink.backlog() == 0:
            self.pipeline.confirm_written()
        lag = self.source.lag(self.pipeline.positions)
        self.pipeline.tick(now, lag)  # idle partitions stop holding event time back
        by_topic: dict[str, int] = {}
        for (topic, _partition), left in lag.items():
            by_topic[topic] = by_topic.get(topic, 0) + left
        self.counters.replace(CONSUMER_LAG, by_topic)
        if final or now >= self._next_evaluation:
            started = time.perf_counter()
            self.pipeline.evaluate(now)
            spent = time.perf_counter() - started if self.adaptive_evaluation else 0.0
            # Evaluating is the costly part of a cycle when many windows change (catching up
            # on a backlog, long sliding windows): keep it to a bounded share of the time.
            self._next_evaluation = now + max(self.checkpoint_interval, spent * EVALUATION_SPACING)
        if final or now >= self._next_pipeline_write:
            self._next_pipeline_write = now + self.pipeline_interval
            try:
                self.sink.write_pipeline(self._tagged(self.samples()), now)
            except Exception:
                logger.exception("event=pipeline_counters_not_written")
        if final:
            try:
                self.sink.flush(self._remaining())
            except Exception as error:
                logger.warning("event=final_flush_incomplete error=%s", error)
            if self.sink.backlog() == 0:
                self.pipeline.confirm_written()
        timeout = max(0.5, self._remaining()) if final else 0.5
        if not self.dead_letters.flush(timeout):
            logger.warning("event=checkpoint_deferred reason=dead_letters_not_acknowledged")
            return False
        self.pipeline.checkpoint()
        self.source.commit(self.pipeline.positions)
        return True

    def _final_cycle(self) -> None:
        started = time.monotonic()
        if self._deadline is None:
            self._deadline = started + self.shutdown_timeout
        try:
            taken = self.cycle(self.clock(), final=True)
        except Exception:
            logger.exception("event=final_checkpoint_failed")
            return
        logger.info(
            "event=final_checkpoint taken=%s seconds=%.2f", taken, time.monotonic() - started
        )

    def _remaining(self) -> float:
        """Seconds left of the shutdown budget (all of it before a stop)."""
        if self._deadline is None:
            return self.shutdown_timeout
        return max(0.0, self._deadline - time.monotonic())

    def _shutdown(self) -> None:
        """Close the source, the dead letters, the sink and the stop callbacks side by side, for
        at most :data:`CLOSE_GRACE` seconds after the shutdown budget; then the pipeline.

        A step still busy then (an alert webhook mid-request, a broker that does not answer) is
        abandoned and listed in :attr:`abandoned`, so that the process can exit anyway.
        """
        started = time.monotonic()
        if self._deadline is None:  # stopped by an error: the same budget as for a signal
            self._deadline = started + self.shutdown_timeout
        end = max(self._deadline, started) + CLOSE_GRACE
        # a closer's own timeout, leaving time to return
        budget = max(0.1, end - started - 0.5)
        sink_budget = max(0.1, self._remaining())
        steps: list[tuple[str, Callable[[], Any]]] = [
            ("source", lambda: self.source.close(budget)),
            ("dead_letters", lambda: self.dead_letters.close(budget)),
            ("sink", lambda: self.sink.close(sink_budget)),
        ]
        steps += [(_step_name(callback), callback) for callback in self.on_stop]
        threads = []
        for name, call in steps:
            thread = threading.Thread(
                target=_logged_step, args=(name, call), name=f"stop-{name}", daemon=True
            )
            thread.start()
            threads.append((name, thread))
        for _name, thread in threads:
            thread.join(max(0.0, end - time.monotonic()))
        self.abandoned = [name for name, thread in threads if thread.is_alive()]
        if self.abandoned:
            logger.warning(
                "event=shutdown_steps_abandoned steps=%s grace=%.0fs",
                ",".join(self.abandoned),
                CLOSE_GRACE,
            )
        self.pipeline.close()
        logger.info("event=daemon_stopped closing_seconds=%.2f", time.monotonic() - started)

    def _tagged(self, samples: list[CounterSample]) -> list[CounterSample]:
        """Samples with this process's ``instance`` and ``incarnation`` labels (the stored
        ``fairwatch_pipeline`` points: counters restart at 0 with each incarnation)."""
        tags = {"instance": self.instance, "incarnation": self.incarnation}
        return [replace(sample, labels={**sample.labels, **tags}) for sample in samples]

    def samples(self) -> list[CounterSample]:
        """The pipeline's counters, the daemon's and those of the other sources (sink, alert
        manager)."""
        out = [*self.pipeline.samples(), *self.counters.samples()]
        for source in self.counter_sources:
            try:
                out.extend(source.samples())
            except Exception:
                logger.exception("event=counter_source_failed source=%s", type(source).__name__)
        return out


def _step_name(callback: Callable[[], Any]) -> str:
    owner = getattr(callback, "__self__", None)
    return type(owner).__name__ if owner is not None else getattr(callback, "__name__", "on_stop")


def _logged_step(name: str, call: Callable[[], Any]) -> None:
    try:
        call()
    except Exception:
        logger.exception("event=shutdown_step_failed step=%s", name)
