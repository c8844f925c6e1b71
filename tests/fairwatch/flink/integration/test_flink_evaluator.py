"""Scale-out end to end: the Flink job counts, ``fairwatch run`` in ``kafka.mode: pane_counts``
evaluates — and InfluxDB holds exactly what the single-process daemon writes for the same stream,
and what a batch computation gives; through a kill -9 of the evaluator too.

Real Kafka, real Flink, real InfluxDB. The stream of :mod:`streams` (three partitions, every
timestamp form, duplicate predictions, early, delayed, duplicate and orphan labels, bad
messages) is read by two pipelines at once: the rendered Flink job with the evaluator reading its
pane topic, and the in-process daemon reading the events (each its own consumer group, dead-letter
topic and InfluxDB database). Every ``fairness_group`` and ``fairness_disparity`` point — counts,
rates, intervals, disparities, statuses, extremes — must be equal in the two databases, and the
group counts equal to the batch count of :func:`streams.expected` summed into windows.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fairwatch.flink.job import JobOptions, render
from monitor.config import MonitorConfig
from monitor.stream.window import windows_of_pane
from tests.conftest import InfluxDBConnection, create_influxdb_database
from tests.fairwatch.flink.integration.streams import PaneTopic, Stream, config_data, expected
from tests.monitor.stream.conftest import DaemonProcess, write_config
from tests.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MEASUREMENTS = ("fairness_group", "fairness_disparity")
COUNTS = ("n", "predicted_positive", "tp", "fp", "tn", "fn")
Point = tuple[str, tuple[tuple[str, str], ...], float]


@dataclass
class ScaleOut:
    stream: Stream
    config: MonitorConfig  # the job's (and the evaluator's) configuration
    evaluator: DaemonProcess
    daemon: DaemonProcess
    databases: dict[str, InfluxDBConnection]  # "evaluator", "daemon"
    job_id: str


def daemon_settings(
    data: dict[str, Any], tmp_path: Path, influx: InfluxDBConnection, **kafka: Any
) -> dict[str, Any]:
    """``fairwatch run``'s file for the configuration ``data`` writing to ``influx``, with
    ``kafka`` changes.

    Not defaults, for the CI budget: checkpoints every 300 ms and InfluxDB flushes every 200 ms
    (the test sees the end within a second of the stream's), 50 bootstrap resamples."""
    data = {key: value for key, value in data.items() if key != "embedded_sink"}
    data["kafka"] = {**data["kafka"], **kafka}
    data["state_dir"] = str(tmp_path / "state")
    data["health"] = {"host": "127.0.0.1", "port": 0}
    data["pipeline"] = {"checkpoint_interval": "300ms", "shutdown_timeout": "5s"}
    data["engine"] = {**data.get("engine", {}), "bootstrap_samples": 50}
    data["influxdb"] = {
        "url": influx.url,
        "org": influx.org,
        "bucket": influx.bucket,
        "token_env": "FAIRWATCH_TEST_TOKEN",
        "flush_interval": "200ms",
    }
    return data


@pytest.fixture(scope="module")
def scale_out(
    flink_cluster: Any,
    kafka_bootstrap: str,
    influxdb: InfluxDBConnection,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ScaleOut]:
    from kafka.admin import KafkaAdminClient, NewTopic

    suffix = f"{time.time_ns():x}"
    topics = {
        "predictions": f"scale-predictions-{suffix}",
        "labels": f"scale-labels-{suffix}",
        "dead_letters": f"scale-dead-letters-job-{suffix}",
        "panes": f"scale-panes-{suffix}",
    }
    daemon_dead_letters = f"scale-dead-letters-daemon-{suffix}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, client_id="fairwatch-tests")
    admin.create_topics(
        [
            NewTopic(topics["predictions"], 3, 1),
            NewTopic(topics["labels"], 3, 1),
            NewTopic(topics["dead_letters"], 1, 1),
            NewTopic(daemon_dead_letters, 1, 1),
            NewTopic(topics["panes"], 2, 1),
        ]
    )
    admin.close()
    data = config_data(kafka_bootstrap, topics)
    data["kafka"]["pane_topic"] = topics["panes"]
    config = MonitorConfig.model_validate(data)
    stream = Stream(kafka_bootstrap, topics)
    stream.backlog()
    stream.live(range(160, 200))
    directory = tmp_path_factory.mktemp("scale-out")
    (directory / "job").mkdir()
    options = JobOptions(group_id=f"{topics['predictions']}-flink", checkpoint_interval=1.0)
    job_id = flink_cluster.submit(render(config, options), directory / "job")
    # Both pipelines start on a finished count (the job's, the stream's), so that each writes
    # every window once: a sink leaves a field or a point of an earlier revision of a window in
    # InfluxDB when the revision no longer writes it, and two pipelines see different revisions.
    reader = PaneTopic(kafka_bootstrap, topics["panes"])
    try:
        reader.wait_for(
            expected(config, stream.records()), lambda: flink_cluster.check_healthy(job_id)
        )
    finally:
        reader.close()
    databases = {
        name: create_influxdb_database(influxdb, f"scale_{name}_{suffix}")
        for name in ("evaluator", "daemon")
    }
    processes = {}
    for name, kafka in (
        ("evaluator", {"mode": "pane_counts", "group_id": f"{topics['predictions']}-evaluator"}),
        ("daemon", {"dead_letter_topic": daemon_dead_letters}),
    ):
        (directory / name).mkdir()
        settings = daemon_settings(data, directory / name, databases[name], **kafka)
        path = write_config(directory / name / "fairwatch.yaml", settings)
        processes[name] = DaemonProcess(
            path, directory / name / "daemon.log", {"FAIRWATCH_TEST_TOKEN": "x"}
        ).start()
    try:
        flink_cluster.wait_running(job_id)
        yield ScaleOut(
            stream, config, processes["evaluator"], processes["daemon"], databases, job_id
        )
    finally:
        for process in processes.values():
            process.stop_quietly()
        flink_cluster.cancel(job_id)


def points(influx: InfluxDBConnection) -> dict[Point, dict[str, Any]]:
    """Every ``fairness_group`` and ``fairness_disparity`` point: (measurement, tags, time) →
    fields."""
    query = (
        f'from(bucket: "{influx.bucket}") |> range(start: 0) '
        '|> filter(fn: (r) => r._measurement == "fairness_group" or '
        'r._measurement == "fairness_disparity")'
    )
    out: dict[Point, dict[str, Any]] = {}
    with influx.client() as client:
        for table in client.query_api().query(query, org=influx.org):
            for record in table.records:
                tags = tuple(
                    sorted(
                        (key, str(value))
                        for key, value in record.values.items()
                        if not key.startswith("_") and key not in ("result", "table")
                    )
                )
                point = (record.get_measurement(), tags, record.get_time().timestamp())
                out.setdefault(point, {})[record.get_field()] = record.get_value()
    return out


def batch_windows(scale: ScaleOut) -> dict[tuple[str, str, float, str, str], tuple[int, ...]]:
    """The batch count of everything produced, summed into every window: (window, model,
    window start, attribute, group) → counts."""
    wanted = expected(scale.config, scale.stream.records())
    out: dict[tuple[str, str, float, str, str], list[int]] = {}
    for (model, step, start, attribute, group), row in wanted.panes.items():
        for spec in scale.config.windows:
            if spec.step != step:
                continue
            for window_start in windows_of_pane(spec, start):
                key = (spec.name, model, window_start, attribute, group)
                total = out.setdefault(key, [0] * len(COUNTS))
                for index, value in enumerate(row[: len(COUNTS)]):
                    total[index] += value
    return {key: tuple(value) for key, value in out.items()}


def group_counts(
    scale: ScaleOut, found: dict[Point, dict[str, Any]]
) -> dict[tuple[str, str, float, str, str], tuple[int, ...]]:
    sizes = {spec.name: spec.size for spec in scale.config.windows}
    out = {}
    for (measurement, tags, at), fields in found.items():
        if measurement != "fairness_group":
            continue
        tag = dict(tags)
        window = tag["window"]
        key = (window, tag["model_id"], at - sizes[window], tag["attribute"], tag["group"])
        out[key] = tuple(int(fields.get(name, 0)) for name in COUNTS)
    return out


def differences(got: dict[Point, dict[str, Any]], want: dict[Point, dict[str, Any]]) -> str:
    missing = [point for point in want if point not in got]
    extra = [point for point in got if point not in want]
    changed = [
        (point, got[point], want[point])
        for point in want
        if point in got and got[point] != want[point]
    ]
    return (
        f"{len(missing)} missing, {len(extra)} extra, {len(changed)} differ; first missing "
        f"{missing[:2]}, extra {extra[:2]}, differing (evaluator, daemon) {changed[:1]}"
    )


def check_same(scale: ScaleOut, timeout: float = 120.0) -> dict[Point, dict[str, Any]]:
    """Wait until both databases hold the same points and the batch's counts; return them."""
    batch = batch_windows(scale)
    state: dict[str, Any] = {}

    def same() -> bool:
        for process in (scale.evaluator, scale.daemon):
            assert process.alive(), process.log()[-3000:]
        state["evaluator"] = points(scale.databases["evaluator"])
        state["daemon"] = points(scale.databases["daemon"])
        return (
            state["evaluator"] == state["daemon"]
            and group_counts(scale, state["evaluator"]) == batch
        )

    if not wait_until(same, timeout, 1.0):
        evaluator, daemon = state["evaluator"], state["daemon"]
        counted = group_counts(scale, evaluator)
        wrong = {key: (counted.get(key), value) for key, value in batch.items()}
        wrong = {key: pair for key, pair in wrong.items() if pair[0] != pair[1]}
        raise AssertionError(
            f"evaluator vs daemon: {differences(evaluator, daemon)}; evaluator vs batch: "
            f"{len(wrong)} windows differ, e.g. {list(wrong.items())[:2]}\n"
            f"evaluator log: {scale.evaluator.log()[-2000:]}"
        )
    return dict(state["evaluator"])


def test_the_evaluator_writes_what_the_single_process_daemon_writes(
    scale_out: ScaleOut, flink_cluster: Any
) -> None:
    found = check_same(scale_out)
    measurements = {point[0] for point in found}
    assert measurements == set(MEASUREMENTS)
    statuses = {
        fields.get("status") for point, fields in found.items() if point[0] == MEASUREMENTS[1]
    }
    assert len(statuses) > 1, statuses  # verdicts of several kinds, not only insufficient data
    flink_cluster.check_healthy(scale_out.job_id)


def test_a_killed_evaluator_restarts_from_its_checkpoint_exactly(
    scale_out: ScaleOut, flink_cluster: Any
) -> None:
    producing = threading.Thread(
        target=scale_out.stream.live, args=(range(200, 240),), kwargs={"pause": 0.1}
    )
    producing.start()
    try:
        time.sleep(1.5)  # mid-stream: pane counts read since the evaluator's last checkpoint
        scale_out.evaluator.kill()
        time.sleep(1.0)  # counted by the job while the evaluator is down
        scale_out.evaluator.start()
    finally:
        producing.join()
    scale_out.evaluator.wait_for_log("event=state_restored", timeout=60)
    check_same(scale_out)
    flink_cluster.check_healthy(scale_out.job_id)
