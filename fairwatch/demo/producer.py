"""``fairwatch demo --kafka BOOTSTRAP``: produce the demo's events into Kafka for ``fairwatch run``.

The same prediction and label events the embedded demo replays go to the ``predictions`` and
``labels`` topics (keyed by ``prediction_id``, so a label lands on its prediction's partition),
in arrival order, as fast as possible or at ``--speed`` events per second. Event times are the
demo's own (from 5 January 2026), as in the embedded run. Missing topics are created with the
same partition count (co-partitioned). This is also the demo producer service of docker-compose.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import orjson

from fairwatch.demo.scenario import StreamEvent
from fairwatch.demo.settings import DemoOptions

DEFAULT_PARTITIONS = 3


@dataclass(frozen=True)
class Topics:
    predictions: str = "predictions"
    labels: str = "labels"


def ensure_topics(bootstrap: Sequence[str], topics: Topics, partitions: int) -> list[str]:
    """Create the topics that do not exist yet; returns the names created."""
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(bootstrap_servers=list(bootstrap), client_id="fairwatch-demo")
    try:
        existing = set(admin.list_topics())
        wanted = [name for name in (topics.predictions, topics.labels) if name not in existing]
        if wanted:
            # Created meanwhile by someone else is fine.
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(
                    [
                        NewTopic(name, num_partitions=partitions, replication_factor=1)
                        for name in wanted
                    ]
                )
        return wanted
    finally:
        admin.close()


def produce(
    events: Sequence[StreamEvent],
    bootstrap: Sequence[str],
    topics: Topics = Topics(),
    *,
    speed: float | None = None,
    on_progress: Callable[[int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Send ``events`` in order; returns how many were acknowledged by the broker."""
    from kafka import KafkaProducer

    producer = KafkaProducer(
        bootstrap_servers=list(bootstrap),
        client_id="fairwatch-demo",
        acks="all",
        linger_ms=20,
        retries=5,
    )
    names = {"predictions": topics.predictions, "labels": topics.labels}
    started = time.monotonic()
    futures: list[Any] = []
    try:
        for index, event in enumerate(events):
            if speed is not None:
                wait = started + index / speed - time.monotonic()
                if wait > 0:
                    sleep(wait)
            futures.append(
                producer.send(
                    names[event.topic], key=event.key.encode(), value=orjson.dumps(event.body)
                )
            )
            if on_progress is not None and index % 5000 == 4999:
                on_progress(index + 1)
        producer.flush()
        for future in futures:
            future.get(timeout=30)  # raises if the broker refused one
    finally:
        producer.close()
    return len(futures)


def produce_demo(options: DemoOptions, stream: TextIO) -> int:
    """The ``--kafka`` mode of ``fairwatch demo``; returns the exit code."""
    from fairwatch.demo.runner import prepare

    topics = Topics(options.predictions_topic, options.labels_topic)

    def say(text: str) -> None:
        print(text, file=stream, flush=True)

    scenario, _facts = prepare(options, say)
    bootstrap = [part.strip() for part in str(options.kafka).split(",") if part.strip()]
    created = ensure_topics(bootstrap, topics, DEFAULT_PARTITIONS)
    if created:
        say(f"created topics {', '.join(created)} ({DEFAULT_PARTITIONS} partitions each)")
    pace = "as fast as possible" if options.speed is None else f"at {options.speed:g} events/s"
    say(
        f"producing {len(scenario.events):,} events to {topics.predictions} and {topics.labels} "
        f"on {','.join(bootstrap)} {pace}"
    )
    sent = produce(
        scenario.events,
        bootstrap,
        topics,
        speed=options.speed,
        on_progress=lambda count: say(f"  {count:,} events sent"),
    )
    settings = scenario.settings
    say(
        f"sent {sent:,} events ({scenario.prediction_count:,} predictions, "
        f"{scenario.label_count:,} labels); drift on {settings.drift_attribute}="
        f"{settings.drift_group} between day {settings.drift_start_day:g} and "
        f"{settings.drift_end_day:g}. Run `fairwatch run --config FILE` to consume them."
    )
    return 0
