"""The notification path stage by stage (alerting/notify), against a real store."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from alerting import notify
from alerting.config import AlertingConfig
from alerting.dedup import LogEntry
from alerting.lifecycle import evaluate
from alerting.metrics import NOTIFICATIONS_SUPPRESSED
from alerting.model import AlertState
from alerting.notify.batch import Batch
from alerting.notify.dedup import Dedup
from alerting.notify.enqueue import Queue, QueueTrigger
from alerting.notify.key import IdempotencyKey
from alerting.notify.mute import Mute, Notifiable
from alerting.notify.snapshot import Snapshot
from alerting.notify.trigger import Cooldown, OncePerEpisode
from alerting.rules import Alert, alert_labels, observe, severity_of
from alerting.silences import new_silence
from alerting.store import AlertStore, Enqueue
from monitor.counters import Counters
from tests.alerting.alert_builders import HOUR, T0, config, evaluation

CONFIG: AlertingConfig = config(
    [{"type": "webhook", "name": "hook", "url": "http://127.0.0.1:9/hook"}], rule={"for": 0}
)


def alert(value: float, model_id: str = "credit-v3", previous: AlertState | None = None) -> Alert:
    """The alert of rule ``dp`` for ``model_id`` after a window of ``value`` (fires at once)."""
    now = T0 if previous is None else (previous.last_window_end or T0) + HOUR
    [observation] = observe(CONFIG.rules, evaluation(value, now, model_id=model_id))
    return Alert.of(CONFIG.rules[0], evaluate(previous, observation, now))


def resolved(model_id: str = "credit-v3") -> Alert:
    return alert(0.01, model_id, previous=alert(0.2, model_id).state)


def batch(*alerts: Alert, now: float = T0 + 60, **fields: object) -> Batch:
    return Batch(
        receiver="hook",
        group_key='{rule="dp"}',
        group_labels={"rule": "dp"},
        alerts=alerts,
        now=now,
        repeat_interval=4 * HOUR,
        **fields,  # type: ignore[arg-type]
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[AlertStore]:
    opened = AlertStore(tmp_path / "alerting.sqlite")
    yield opened
    opened.close()


def suppressed(counters: Counters, reason: str) -> float:
    return counters.get(NOTIFICATIONS_SUPPRESSED, reason=reason)


def test_an_alert_works_out_its_labels_once_for_routing_silences_and_snapshot() -> None:
    firing = alert(0.2)
    rule, key = CONFIG.rules[0], firing.state.key
    assert firing.severity == severity_of(rule, key) == "critical"
    assert firing.labels == alert_labels(rule, key, "critical")
    assert firing.snapshot("firing").labels == firing.labels


def test_mute_drops_the_silenced_alerts_and_counts_each(store: AlertStore) -> None:
    counters = Counters()
    store.add_silence(new_silence(["model_id=credit-v3"], T0, HOUR, 7 * 24 * HOUR))
    v3, v4 = alert(0.2, "credit-v3"), alert(0.2, "credit-v4")
    kept = Mute(store, counters).process(batch(v3, v4))
    assert kept is not None and kept.alerts == (v4,)
    assert suppressed(counters, "silenced") == 1
    assert Mute(store, counters).process(batch(v3)) is None  # all muted: stop
    assert suppressed(counters, "silenced") == 2
    after = Mute(store, counters).process(batch(v3, now=T0 + HOUR))  # the silence has ended
    assert after is not None and after.alerts == (v3,)


def test_notifiable_keeps_firing_and_resolved_alerts_only() -> None:
    pending = Alert.of(CONFIG.rules[0], replace(alert(0.2).state, status="pending"))
    firing, done = alert(0.2, "credit-v4"), resolved("credit-v5")
    kept = Notifiable().process(batch(pending, firing, done))
    assert kept is not None and kept.alerts == (firing, done)
    assert Notifiable().process(batch(pending)) is None


def test_dedup_lets_a_new_group_through_with_the_log_entry_it_implies(store: AlertStore) -> None:
    counters = Counters()
    firing, done = alert(0.2), resolved("credit-v4")
    passed = Dedup(store, counters).process(batch(firing, done))
    assert passed is not None and passed.reason == "new_group"
    assert passed.log == LogEntry(
        frozenset({firing.fingerprint}), frozenset({done.fingerprint}), T0 + 60
    )


def test_dedup_stops_an_unchanged_group_silently_and_counts_other_reasons(
    store: AlertStore,
) -> None:
    counters = Counters()
    firing = alert(0.2)
    log = LogEntry(frozenset({firing.fingerprint}), frozenset(), T0)
    store.enqueue([Enqueue("hook", '{rule="dp"}', log=log)], T0)
    assert Dedup(store, counters).process(batch(firing)) is None
    assert counters.samples() == []  # unchanged: the usual case, not counted
    other = Batch("hook", '{rule="other"}', {}, (resolved(),), T0 + 60)
    assert Dedup(store, counters).process(other) is None
    assert suppressed(counters, "nothing_firing") == 1


def test_snapshot_renders_the_notification_receivers_see() -> None:
    firing, done = alert(0.2), resolved("credit-v4")
    rendered = Snapshot().process(batch(firing, done))
    assert rendered is not None and rendered.notification is not None
    notification = rendered.notification
    assert (notification.status, notification.receiver, notification.created_at) == (
        "firing",
        "hook",
        T0 + 60,
    )
    assert [a.status for a in notification.alerts] == ["firing", "resolved"]
    assert notification.alerts[1].ends_at == done.state.resolved_at
    assert notification.evidence is None


def test_snapshot_hides_resolves_from_a_receiver_without_send_resolved() -> None:
    firing, done = alert(0.2), resolved("credit-v4")
    rendered = Snapshot().process(batch(firing, done, send_resolved=False))
    assert rendered is not None and rendered.notification is not None
    assert [a.status for a in rendered.notification.alerts] == ["firing"]
    only_resolve = Snapshot().process(batch(done, send_resolved=False))
    assert only_resolve is not None and only_resolve.notification is None  # the log entry only
    status = Snapshot().process(batch(done))
    assert status is not None and status.notification is not None
    assert status.notification.status == "resolved"


def test_snapshot_with_evidence_carries_the_recent_windows() -> None:
    second = alert(0.3, previous=alert(0.2).state)
    rendered = Snapshot(evidence=True).process(batch(second, episode="e"))
    assert rendered is not None and rendered.notification is not None
    evidence = rendered.notification.evidence
    assert evidence is not None
    windows = evidence["recent_windows"]
    assert [w["value"] for w in windows] == [0.2, 0.3]
    assert windows[-1]["window_end"] == "2023-11-14T23:13:20+00:00"


def test_the_idempotency_key_of_a_trigger_is_its_episode_and_of_a_group_its_content() -> None:
    firing = alert(0.2)
    render = Snapshot()

    def key(**fields: object) -> str:
        rendered = render.process(batch(firing, **fields))  # type: ignore[arg-type]
        assert rendered is not None
        keyed = IdempotencyKey().process(rendered)
        assert keyed is not None
        return keyed.idempotency_key

    assert key(episode="fp@1") == key(episode="fp@1", now=T0 + 999)  # retries share it
    assert key(episode="fp@1") != key(episode="fp@2")
    assert key() != key(now=T0 + 999)  # a group's next notification is another message
    assert len(key()) == 32
    unrendered = IdempotencyKey().process(batch(firing))  # nothing to send: no key
    assert unrendered is not None and unrendered.idempotency_key == ""


def test_queue_collects_rows_until_drained() -> None:
    firing = alert(0.2)
    log = LogEntry(frozenset({firing.fingerprint}), frozenset(), T0 + 60)
    rendered = Snapshot().process(batch(firing, log=log))
    assert rendered is not None
    keyed = IdempotencyKey().process(rendered)
    assert keyed is not None and keyed.notification is not None
    queue = Queue()
    assert queue.process(keyed) is keyed
    assert queue.process(batch(resolved(), log=log)) is not None  # nothing to show: log only
    first, second = queue.drain()
    assert (first.notification, first.idempotency_key, first.log) == (
        keyed.notification,
        keyed.idempotency_key,
        log,
    )
    assert (second.notification, second.idempotency_key, second.log) == (None, "", log)
    assert queue.drain() == []


def test_a_trigger_is_queued_once_per_episode_and_once_per_model_per_cooldown(
    store: AlertStore,
) -> None:
    counters = Counters()
    firing = alert(0.2)
    trigger = notify.retraining(store, counters, cooldown=3 * HOUR)
    first = batch(firing, episode="fp@1")
    assert trigger.process(first) is not None
    assert store.episode_seen("hook", "fp@1")
    assert store.last_trigger("hook", "credit-v3") == T0 + 60
    assert len(store.pending()) == 1
    assert trigger.process(first) is None  # the same episode again: silently nothing
    assert suppressed(counters, "cooldown") == 0
    assert trigger.process(batch(firing, episode="fp@2", now=T0 + HOUR)) is None
    assert suppressed(counters, "cooldown") == 1
    assert trigger.process(batch(firing, episode="fp@2", now=T0 + 4 * HOUR)) is not None
    assert len(store.pending()) == 2


def test_the_trigger_stages_one_by_one(store: AlertStore) -> None:
    counters = Counters()
    firing = alert(0.2)
    once, cooldown = OncePerEpisode(store), Cooldown(store, HOUR, counters)
    item = IdempotencyKey().process(
        Snapshot(evidence=True).process(batch(firing, episode="fp@1")) or batch(firing)
    )
    assert item is not None
    assert once.process(item) is item and cooldown.process(item) is item
    QueueTrigger(store).process(item)
    assert once.process(item) is None
    assert cooldown.process(replace(item, episode="fp@2")) is None


def test_a_pipeline_stops_at_the_first_stage_that_stops(store: AlertStore) -> None:
    seen: list[str] = []

    class Spy:
        def process(self, batch: Batch) -> Batch | None:
            seen.append("spy")
            return batch

    store.add_silence(new_silence(["rule=dp"], T0, HOUR, 7 * 24 * HOUR))
    pipeline = notify.Pipeline([Mute(store, Counters()), Spy()])
    assert pipeline.process(batch(alert(0.2))) is None and seen == []
    assert notify.Pipeline([Spy(), Spy()]).process(batch(alert(0.2))) is not None
    assert seen == ["spy", "spy"]


def test_routed_and_retraining_receivers_share_the_mute_snapshot_and_key_stages(
    store: AlertStore,
) -> None:
    counters = Counters()
    routed = notify.routed(store, counters, Queue())
    retraining = notify.retraining(store, counters, cooldown=HOUR)
    kinds = {type(stage) for stage in routed.stages} & {type(s) for s in retraining.stages}
    assert kinds == {Mute, Snapshot, IdempotencyKey}
    store.add_silence(new_silence(["model_id=credit-v3"], T0, HOUR, 7 * 24 * HOUR))
    assert routed.process(batch(alert(0.2))) is None
    assert retraining.process(batch(alert(0.2), episode="fp@1")) is None
    assert suppressed(counters, "silenced") == 2
