"""The rendered Flink job counts exactly — at parallelism 1 and 2, and through a crash of the
TaskManager: real Kafka, real Flink, compared with a batch count.

The stream of :mod:`streams` goes through two jobs at once, rendered from the same configuration
at parallelism 1 and 2 (each its own consumer group, pane topic, dead-letter topic and Kafka
transactions), submitted once for the module. Part of the stream is produced before the jobs
start (a backlog), the rest while they run. Each pane topic, read as an evaluator reads it
(``read_committed``), must hold the batch computation's pane counts, score histograms included,
and for each partition of the predictions topic the largest event time counted from it and its
last offset; no pane's counts may ever go down; the dead letters must carry the decoder's
reasons, each once. Then the TaskManager is killed with SIGKILL while more of the stream is
produced (bad messages among it), and started again: both jobs restore their last checkpoint,
and the counts must still be exact (nothing lost, nothing counted twice) and each dead letter
written once (the transactions written since the checkpoint were aborted).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest

from fairwatch.flink.job import JobOptions, render
from monitor.config import MonitorConfig
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
PARALLELISMS = (1, 2)


@dataclass
class Job:
    parallelism: int
    config: MonitorConfig
    topics: dict[str, str]
    job_id: str = ""


@dataclass
class Jobs:
    """Two jobs over one stream's topics."""

    stream: Stream
    jobs: list[Job]
    bootstrap: str


@pytest.fixture(scope="module")
def jobs(
    flink_cluster: Any,
    kafka_bootstrap: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Jobs]:
    from kafka.admin import KafkaAdminClient, NewTopic

    suffix = f"{time.time_ns():x}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, client_id="fairwatch-tests")
    names = {
        "predictions": (3, f"flink-predictions-{suffix}"),
        "labels": (3, f"flink-labels-{suffix}"),
    }
    for parallelism in PARALLELISMS:
        names[f"dead_letters_{parallelism}"] = (1, f"flink-dead-letters-p{parallelism}-{suffix}")
        names[f"panes_{parallelism}"] = (2, f"flink-panes-p{parallelism}-{suffix}")
    admin.create_topics([NewTopic(name, count, 1) for count, name in names.values()])
    admin.close()
    inputs = {"predictions": names["predictions"][1], "labels": names["labels"][1]}
    started = []
    for parallelism in PARALLELISMS:
        topics = {
            **inputs,
            "dead_letters": names[f"dead_letters_{parallelism}"][1],
            "panes": names[f"panes_{parallelism}"][1],
        }
        started.append(Job(parallelism, config_for(kafka_bootstrap, topics), topics))
    stream = Stream(kafka_bootstrap, inputs)
    stream.backlog()
    directory = tmp_path_factory.mktemp("flink-jobs")

    def submit(job: Job) -> str:
        options = JobOptions(
            pane_topic=job.topics["panes"],
            group_id=f"{inputs['predictions']}-p{job.parallelism}",
            parallelism=job.parallelism,
            checkpoint_interval=1.0,
        )
        (directory / str(job.parallelism)).mkdir()
        return str(
            flink_cluster.submit(render(job.config, options), directory / str(job.parallelism))
        )

    try:
        with ThreadPoolExecutor(len(started)) as pool:
            for job, job_id in zip(started, pool.map(submit, started), strict=True):
                job.job_id = job_id
        for job in started:
            flink_cluster.wait_running(job.job_id)
        yield Jobs(stream, started, kafka_bootstrap)
    finally:
        for job in started:
            if job.job_id:
                flink_cluster.cancel(job.job_id)


def check_exact(jobs: Jobs, healthy: Callable[[str], None], timeout: float = 120.0) -> None:
    """Each job's pane topic and dead letters equal the batch count of everything produced."""
    records = jobs.stream.records()
    for job in jobs.jobs:
        wanted = expected(job.config, records)
        reader = PaneTopic(jobs.bootstrap, job.topics["panes"])
        try:
            reader.wait_for(wanted, partial(healthy, job.job_id), timeout)
        finally:
            reader.close()
        where = f"parallelism {job.parallelism}: "
        assert reader.panes == wanted.panes, where + pane_differences(reader.panes, wanted.panes)
        assert same_progress(reader.progress, wanted.progress), (where, reader.progress)
        assert not reader.decreases, (where, reader.decreases[:3])
        assert not reader.tombstones, where
        letters = read_dead_letters(jobs.bootstrap, job.topics["dead_letters"])
        assert letters == wanted.dead_letters, where


def test_pane_counts_at_parallelism_1_and_2_equal_a_batch_count(
    jobs: Jobs, flink_cluster: Any
) -> None:
    assert [flink_cluster.parallelism(job.job_id) for job in jobs.jobs] == list(PARALLELISMS)
    jobs.stream.live()
    wanted = expected(jobs.jobs[0].config, jobs.stream.records())
    assert sum(sum(row[2:6]) for row in wanted.panes.values())  # labels were joined
    assert sum(sum(row[6:26]) for row in wanted.panes.values())  # and histogrammed
    check_exact(jobs, flink_cluster.check_healthy)


def test_counts_stay_exact_through_a_taskmanager_crash(
    jobs: Jobs, flink_cluster: Any, local_flink: Any
) -> None:
    before = {job.job_id: flink_cluster.wait_checkpoint(job.job_id) for job in jobs.jobs}
    producing = threading.Thread(
        target=jobs.stream.live, args=(range(240, 600),), kwargs={"pause": 0.05, "bad_every": 20}
    )
    producing.start()
    try:
        time.sleep(2.0)  # mid-stream: records read and counted since the last checkpoint
        assert local_flink.kill_taskmanager() is not None
        time.sleep(2.0)  # the stream goes on while no TaskManager runs
        local_flink.start_taskmanager()
    finally:
        producing.join()
    for job in jobs.jobs:
        restored = flink_cluster.wait_restored(job.job_id, timeout=120)
        assert restored >= before[job.job_id]
    check_exact(jobs, flink_cluster.check_not_failed)
