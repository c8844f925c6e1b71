"""The whole daemon with the embedded source and sink (the demo's path): sink rows equal batch."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from fairwatch.app import build_daemon
from monitor.sinks.embedded import EmbeddedSink
from monitor.stream.counters import EVENTS_CONSUMED
from monitor.stream.memory import EmbeddedSource, MemoryDeadLetters
from tests.monitor.stream.reference import Counts, make_events, records, reference_counts
from tests.monitor.stream.test_pipeline import make_config


def sink_counts(path: Path, sizes: dict[str, float]) -> Counts:
    sink = EmbeddedSink(path)
    try:
        return {
            (
                row["window"],
                row["model_id"],
                row["time"] - sizes[row["window"]],
                row["attribute"],
                row["group"],
            ): (row["n"], row["predicted_positive"], row["tp"], row["fp"], row["tn"], row["fn"])
            for row in sink.groups()
        }
    finally:
        sink.close()


def test_embedded_daemon_writes_what_a_batch_computes(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    predictions, labels = make_events(2500, models=("credit", "fraud"))
    stream = records("predictions", [*predictions[:1000], b"{broken", *predictions[1000:]], 2)
    stream += records("labels", labels, 2)
    dead_letters = MemoryDeadLetters()
    source = EmbeddedSource(stream)
    daemon = build_daemon(
        config,
        source=source,
        sink=EmbeddedSink(config.embedded_sink.path),  # type: ignore[union-attr]
        dead_letters=dead_letters,
        health=False,
        alerting=False,
    )
    assert daemon.run(stop_when_idle=True) == 0
    sizes = {spec.name: spec.size for spec in config.windows}
    assert sink_counts(Path(config.embedded_sink.path), sizes) == reference_counts(  # type: ignore[union-attr]
        predictions, labels, config.windows
    )
    assert [letter.reason for letter in dead_letters.letters] == ["invalid_json"]
    assert source.committed == {
        ("predictions", 0): sum(1 for r in stream if r.topic == "predictions" and r.partition == 0),
        ("predictions", 1): sum(1 for r in stream if r.topic == "predictions" and r.partition == 1),
        ("labels", 0): sum(1 for r in stream if r.topic == "labels" and r.partition == 0),
        ("labels", 1): sum(1 for r in stream if r.topic == "labels" and r.partition == 1),
    }


def test_stop_from_another_thread_checkpoints_and_returns_zero(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    predictions, _labels = make_events(300)
    source = EmbeddedSource(records("predictions", predictions))
    daemon = build_daemon(
        config,
        source=source,
        sink=EmbeddedSink(tmp_path / "m.sqlite"),
        dead_letters=MemoryDeadLetters(),
        health=False,
        alerting=False,
    )
    threading.Timer(0.5, daemon.stop).start()
    started = time.monotonic()
    assert daemon.run() == 0
    assert time.monotonic() - started < 5
    assert source.committed == {("predictions", 0): 300}
    # a second run resumes from the checkpoint and finds nothing new to count
    again = build_daemon(
        config,
        source=EmbeddedSource(records("predictions", predictions)),
        sink=EmbeddedSink(tmp_path / "m.sqlite"),
        dead_letters=MemoryDeadLetters(),
        health=False,
        alerting=False,
    )
    assert again.pipeline.positions == {("predictions", 0): 300}
    assert again.run(stop_when_idle=True) == 0
    assert again.pipeline.counters.series(EVENTS_CONSUMED) == {}


def test_state_cache_size_comes_from_the_config(tmp_path: Path) -> None:
    config = make_config(tmp_path, pipeline={"state_cache_mb": 48})
    daemon = build_daemon(
        config,
        source=EmbeddedSource([]),
        sink=EmbeddedSink(config.embedded_sink.path),  # type: ignore[union-attr]
        health=False,
        alerting=False,
    )
    try:
        [(pages,)] = daemon.pipeline.store.connection.execute("PRAGMA cache_size").fetchall()
        assert pages == -48 * 1024  # negative: KiB
    finally:
        daemon.run(stop_when_idle=True)
