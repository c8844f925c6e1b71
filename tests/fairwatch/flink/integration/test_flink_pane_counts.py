"""The rendered Flink job counts exactly, at parallelism 1 and 2: real Kafka, real Flink,
compared with a batch count.

The stream of :mod:`streams` goes through two jobs at once, rendered from the same configuration
at parallelism 1 and 2 (each its own consumer group, pane topic and dead-letter topic). Part of
it is produced before the jobs start (a backlog), the rest while they run. Each pane topic, read
as an evaluator reads it (``read_committed``), must hold the batch computation's pane counts,
score histograms included, and for each partition of the predictions topic the largest event
time counted from it and its last offset; the dead letters must carry the decoder's reasons.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from fairwatch.flink.job import JobOptions, render
from tests.fairwatch.flink.integration.streams import (
    PaneTopic,
    Stream,
    config_for,
    expected,
    pane_differences,
    read_dead_letters,
    same_progress,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_pane_counts_at_parallelism_1_and_2_equal_a_batch_count(
    flink_cluster: Any, kafka_bootstrap: str, kafka_topic: Callable[..., str], tmp_path: Path
) -> None:
    inputs = {
        "predictions": kafka_topic(partitions=3, prefix="predictions"),
        "labels": kafka_topic(partitions=3, prefix="labels"),
    }
    jobs = {}
    for parallelism in (1, 2):
        topics = {
            **inputs,
            "dead_letters": kafka_topic(partitions=1, prefix=f"dead-letters-{parallelism}"),
            "panes": kafka_topic(partitions=2, prefix=f"panes-{parallelism}"),
        }
        config = config_for(kafka_bootstrap, topics)
        options = JobOptions(
            pane_topic=topics["panes"],
            group_id=f"{inputs['predictions']}-p{parallelism}",
            parallelism=parallelism,
            checkpoint_interval=1.0,
        )
        jobs[parallelism] = (config, topics, render(config, options))
    stream = Stream(kafka_bootstrap, inputs)
    stream.backlog()

    ids = {}
    try:
        for parallelism, (_config, _topics, sql) in jobs.items():
            directory = tmp_path / f"p{parallelism}"
            directory.mkdir()
            ids[parallelism] = flink_cluster.submit(sql, directory)
        for job_id in ids.values():
            flink_cluster.wait_running(job_id)
        assert flink_cluster.parallelism(ids[2]) == 2
        stream.live()
        records = stream.records()
        for parallelism, (config, topics, _sql) in jobs.items():
            wanted = expected(config, records)
            assert sum(sum(row[2:6]) for row in wanted.panes.values())  # labels were joined
            assert sum(sum(row[6:26]) for row in wanted.panes.values())  # and histogrammed
            reader = PaneTopic(kafka_bootstrap, topics["panes"])
            try:
                reader.wait_for(wanted, partial(flink_cluster.check_healthy, ids[parallelism]))
            finally:
                reader.close()
            assert reader.panes == wanted.panes, pane_differences(reader.panes, wanted.panes)
            assert same_progress(reader.progress, wanted.progress), reader.progress
            assert not reader.decreases, reader.decreases[:3]
            assert not reader.tombstones
            letters = read_dead_letters(kafka_bootstrap, topics["dead_letters"])
            assert letters == wanted.dead_letters
    finally:
        for job_id in ids.values():
            flink_cluster.cancel(job_id)
