"""One event contract: the Flink job and the in-process pipeline give every message the same
verdict and count the same — real Kafka, real Flink.

The decoder's conformance cases (``tests/monitor/stream/decode/cases.py``, the list its unit
tests decode) and the end-to-end stream of :mod:`streams` are produced to Kafka, between the
stream's backlog and its live part, and read by one job rendered from the cases' configuration.
The reference is the in-process :class:`~monitor.stream.pipeline.Pipeline` on the same records
in the same order (:mod:`inprocess`). Per message: dead-lettered or not, and the reason (the
``fairwatch.reason`` header); over all messages: every pane count, score histograms included,
and the event-time progress. The cases SQL is documented not to reproduce are listed in
:mod:`differences`, each asserted to differ exactly as listed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fairwatch.flink.job import JobOptions, render
from monitor.config import MonitorConfig
from monitor.stream.decode import Record, decode_rules
from tests.fairwatch.flink.integration.differences import DIFFERENCES
from tests.fairwatch.flink.integration.inprocess import Position, adjusted, run_pipeline
from tests.fairwatch.flink.integration.streams import (
    PaneTopic,
    Stream,
    pane_differences,
    read_dead_letters,
    same_progress,
)
from tests.monitor.stream.decode.cases import CASES, RULES, Case, contract_config

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@dataclass
class Run:
    config: MonitorConfig
    topics: dict[str, str]
    records: list[Record]  # every record produced, in order
    cases: dict[Position, Case]  # where each case landed
    job_id: str


@pytest.fixture(scope="module")
def run(
    flink_cluster: Any, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Run]:
    from kafka.admin import KafkaAdminClient, NewTopic

    suffix = f"{time.time_ns():x}"
    sizes = {"predictions": 3, "labels": 3, "dead_letters": 1, "panes": 2}
    topics = {kind: f"contract-{kind.replace('_', '-')}-{suffix}" for kind in sizes}
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, client_id="fairwatch-tests")
    admin.create_topics([NewTopic(topics[kind], count, 1) for kind, count in sizes.items()])
    admin.close()
    config = contract_config(
        {
            "bootstrap_servers": [kafka_bootstrap],
            "predictions_topic": topics["predictions"],
            "labels_topic": topics["labels"],
            "dead_letter_topic": topics["dead_letters"],
            "group_id": topics["predictions"],
        }
    )
    assert decode_rules(config) == RULES  # the rules the decoder's unit tests judge the cases by
    stream = Stream(
        kafka_bootstrap, {"predictions": topics["predictions"], "labels": topics["labels"]}
    )
    stream.backlog()
    sent: dict[int, Case] = {}
    for case in CASES:
        sent[len(stream.sent)] = case
        stream.send(case.topic, case.key, case.value)
    stream.live()
    records = stream.ordered()
    cases = {(r.topic, r.partition, r.offset): sent[i] for i, r in enumerate(records) if i in sent}
    # (checkpoints every second instead of 5: exactly-once counts are visible at checkpoints)
    options = JobOptions(
        pane_topic=topics["panes"],
        group_id=f"{topics['predictions']}-flink",
        checkpoint_interval=1.0,
    )
    directory = tmp_path_factory.mktemp("flink-contract")
    job_id = str(flink_cluster.submit(render(config, options), directory))
    try:
        flink_cluster.wait_running(job_id)
        yield Run(config, topics, records, cases, job_id)
    finally:
        flink_cluster.cancel(job_id)


def test_flink_and_the_pipeline_agree_on_every_message_but_the_documented_differences(
    run: Run, flink_cluster: Any, kafka_bootstrap: str, tmp_path: Path
) -> None:
    reference = run_pipeline(run.config, run.records, tmp_path / "state")
    named = {case.name: where for where, case in run.cases.items()}
    by_position = {(r.topic, r.partition, r.offset): r for r in run.records}
    add = [
        _with_value(by_position[named[name]], difference.counted_as)
        for name, difference in DIFFERENCES.items()
        if difference.counted_as is not None
    ]
    remove = [by_position[named[name]] for name, d in DIFFERENCES.items() if d.uncounted]
    wanted = adjusted(reference, run.config, add, remove)

    panes = PaneTopic(kafka_bootstrap, run.topics["panes"])
    try:
        _wait_for(panes, wanted, run, flink_cluster)
    finally:
        panes.close()
    letters = read_dead_letters(kafka_bootstrap, run.topics["dead_letters"])
    assert all(count == 1 for count in letters.values()), letters.most_common(3)
    flink = {(topic, partition, offset): reason for topic, partition, offset, reason in letters}

    def name(where: Position) -> str:
        case = run.cases.get(where)
        return case.name if case else f"stream record {where}"

    unexpected = {}
    for where in by_position:
        case = run.cases.get(where)
        difference = DIFFERENCES.get(case.name) if case else None
        got = (reference.reasons.get(where), flink.get(where))
        want = (got[0], got[0]) if difference is None else (difference.in_process, difference.flink)
        if got != want:
            unexpected[name(where)] = {"in-process, flink": got, "expected": want}
    assert not unexpected, unexpected
    assert len(run.cases) == len(CASES)
    assert panes.panes == wanted.panes, pane_differences(panes.panes, wanted.panes)
    assert same_progress(panes.progress, wanted.progress), (panes.progress, wanted.progress)
    assert not panes.decreases and not panes.tombstones


def _with_value(record: Record, value: bytes | None) -> Record:
    return Record(record.topic, record.partition, record.offset, record.key, value)


def _wait_for(panes: PaneTopic, wanted: Any, run: Run, flink_cluster: Any) -> None:
    """Until the pane topic holds the wanted counts, or the job has read every prediction
    and nothing changed for 10 s (then the assertions tell what differs)."""
    deadline = time.monotonic() + 180
    last_change, seen = time.monotonic(), -1
    checked = time.monotonic()
    while time.monotonic() < deadline and not panes.matches(wanted):
        panes.poll()
        if panes.records != seen:
            seen, last_change = panes.records, time.monotonic()
        read_all = {p: offset for p, (_t, offset) in panes.progress.items()} == {
            p: offset for p, (_t, offset) in wanted.progress.items()
        }
        if read_all and time.monotonic() - last_change > 10:
            return
        if time.monotonic() - checked > 5:
            flink_cluster.check_healthy(run.job_id)
            checked = time.monotonic()
