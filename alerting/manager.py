"""The alert manager: evaluations in, notifications out.

Stages (each a small module): ``rules.observe`` → ``lifecycle.evaluate`` → ``routing`` (groups)
→ ``notify`` (mute → dedup against the notification log → snapshot → idempotency key → durable
outbox, ``store``) → ``delivery`` (retry, rate limit) → receivers. Nothing here reads the clock:
every method takes ``now``, and the injected ticker (``alerting.tickers``) calls ``tick(now)``.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from alerting import notify
from alerting.advice import alert_advice
from alerting.config import AlertingConfig
from alerting.delivery import Outbox
from alerting.errors import AlertingError
from alerting.lifecycle import evaluate, expire
from alerting.metrics import (
    EVALUATIONS_REJECTED,
    INSTANCES,
    OUTBOX_NOTIFICATIONS,
    TRANSITIONS,
)
from alerting.model import AlertState
from alerting.notify.enqueue import Queue
from alerting.receivers import build_receiver
from alerting.receivers.advice_topic import ADVICE_RECEIVER, AdviceTopicReceiver
from alerting.receivers.retraining import RetrainingConfig
from alerting.routing import AggregationGroup, group_key, route_for
from alerting.rules import Alert, observe
from alerting.store import AlertStore
from alerting.types import MessageProducer, Receiver, Ticker
from monitor.counters import Counters
from monitor.engine.config import EngineConfig
from monitor.engine.results import WindowEvaluation
from monitor.types import CounterSample

log = logging.getLogger("fairwatch.alerting")

STALE_INACTIVE = 7 * 86400.0  # forget an inactive instance not evaluated for a week
OUTBOX_RETENTION = 7 * 86400.0  # keep delivered/failed outbox rows this long (audit)


class AlertManager:
    """Turns ``WindowEvaluation``s into notifications; an ``EvaluationListener`` and a
    ``CounterSource`` of the daemon. Thread-safe: the daemon calls ``on_evaluations`` while the
    ``ticker`` (started by :meth:`start`) calls :meth:`tick`; without a ticker the owner calls
    ``tick(now)`` itself. ``durable=False`` skips the fsync of each change of its store (a
    replay whose state is thrown away). ``engine`` is the configuration the windows were
    evaluated with: the threshold advice of a firing alert is evaluated with it. With
    ``alerting.advice.topic`` set, ``advice_producer`` publishes that advice (none: not
    published)."""

    def __init__(
        self,
        config: AlertingConfig,
        state_dir: str | Path,
        *,
        receivers: Mapping[str, Receiver] | None = None,
        ticker: Ticker | None = None,
        rand: Callable[[], float] = random.random,
        durable: bool = True,
        engine: EngineConfig | None = None,
        advice_producer: MessageProducer | None = None,
    ) -> None:
        self.config = config
        self._engine = engine or EngineConfig()
        self.store = AlertStore(Path(state_dir) / config.storage.path, durable=durable)
        self._receivers: dict[str, Receiver] = dict(
            receivers
            if receivers is not None
            else {c.name: build_receiver(c) for c in config.receivers}
        )
        publish = config.advice.topic is not None and advice_producer is not None
        if publish:
            assert advice_producer is not None
            self._receivers[ADVICE_RECEIVER] = AdviceTopicReceiver(config.advice, advice_producer)
        self._ticker = ticker
        self._counters = Counters()
        self._outbox = Outbox(self.store, self._receivers, self._counters, rand)
        self._queue = Queue()
        self._notify = notify.routed(self.store, self._counters, self._queue)
        self._retraining = [
            (receiver, notify.retraining(self.store, self._counters, receiver.cooldown))
            for receiver in config.receivers
            if isinstance(receiver, RetrainingConfig)
        ]
        self._advice = notify.advice(self.store, self._counters) if publish else None
        self._lock = threading.RLock()
        self._delivery_lock = threading.Lock()
        self._states: dict[str, AlertState] = {}
        removed: list[str] = []
        for state in self.store.load_alerts():
            if config.rule(state.key.rule) is None:
                log.warning(
                    "event=alert_dropped reason=rule_removed rule=%s fingerprint=%s status=%s",
                    state.key.rule,
                    state.fingerprint,
                    state.status,
                )
                removed.append(state.fingerprint)
                continue
            self._states[state.fingerprint] = state
        if removed:
            self.store.save_alerts([], deleted=removed)
        self._groups: dict[tuple[str, str], AggregationGroup] = {}
        self._restored = False
        self._last_prune = 0.0

    # evaluation ---------------------------------------------------------------------------
    def on_evaluations(
        self, evaluations: Sequence[WindowEvaluation], now: float, watermark: float | None = None
    ) -> None:
        """Apply every rule to ``evaluations`` (evaluated at ``now``) and update alert states."""
        if not self.config.enabled:
            return
        with self._lock:
            self._restore(now)
            changed: dict[str, AlertState] = {}
            transitions: list[AlertState] = []  # fired or resolved: kept in the history
            for evaluation in evaluations:
                try:
                    observations = observe(self.config.rules, evaluation)
                except Exception:  # a malformed evaluation is logged and skipped, never fatal
                    log.exception(
                        "event=evaluation_rejected model_id=%s window=%s",
                        evaluation.model_id,
                        evaluation.window,
                    )
                    self._counters.inc(EVALUATIONS_REJECTED)
                    continue
                for observation in observations:
                    fingerprint = observation.key.fingerprint
                    previous = self._states.get(fingerprint)
                    state = evaluate(previous, observation, now)
                    before = previous.status if previous else "inactive"
                    if state.status == "firing" and before != "firing":
                        state = self._with_advice(state, evaluation)
                    self._states[fingerprint] = changed[fingerprint] = state
                    if before != state.status:
                        self._on_transition(before, state)
                    newly = before != state.status and state.status in ("firing", "resolved")
                    if newly:
                        transitions.append(state)
                    if newly or state.status == "firing":
                        alert = self._alert(state)
                        if newly:  # fired or resolved: its receivers will be told
                            self._route(alert, now)
                        if state.status == "firing":
                            self._retrain(alert, now)
                            self._publish_advice(alert, now)
            if changed:
                self.store.save_alerts(list(changed.values()), transitions=transitions)

    def _with_advice(self, state: AlertState, evaluation: WindowEvaluation) -> AlertState:
        """The state of an alert that starts firing, with the threshold advice of the window
        that made it fire (computed once per firing)."""
        rule = self.config.rule(state.key.rule)
        if rule is None:
            return state
        return replace(state, advice=alert_advice(rule, state.key, evaluation, self._engine))

    def _on_transition(self, before: str, state: AlertState) -> None:
        self._counters.inc(TRANSITIONS, rule=state.key.rule, to=state.status)
        last = state.last
        log.info(
            "event=alert_transition rule=%s fingerprint=%s model_id=%s attribute=%s metric=%s "
            "window=%s from=%s to=%s value=%s",
            state.key.rule,
            state.fingerprint,
            state.key.model_id,
            state.key.attribute,
            state.key.metric,
            state.key.window,
            before,
            state.status,
            None if last is None else last.value,
        )

    def _alert(self, state: AlertState) -> Alert:
        rule = self.config.rule(state.key.rule)
        assert rule is not None  # states of removed rules are dropped at load
        return Alert.of(rule, state)

    def _route(self, alert: Alert, now: float) -> None:
        route = route_for(self.config, alert.rule, alert.labels)
        key, group_labels = group_key(route.group_by, alert.labels)
        for receiver in route.receivers:
            group = self._groups.get((receiver, key))
            if group is None:
                group = AggregationGroup(receiver, key, group_labels, route, now + route.group_wait)
                self._groups[(receiver, key)] = group
            group.add(alert.fingerprint, now)

    def _restore(self, now: float) -> None:
        """After a restart, regroup firing and resolved alerts; the notification log decides
        whether anything still needs to be sent (no duplicate page, no lost resolve)."""
        if self._restored:
            return
        self._restored = True
        for state in self._states.values():
            if state.status in ("firing", "resolved"):
                self._route(self._alert(state), now)

    def _retrain(self, alert: Alert, now: float) -> None:
        """Hand a firing alert to each retraining receiver that selects it (``notify.retraining``:
        once per episode, not while silenced, at most once per model per cooldown)."""
        for config, pipeline in self._retraining:
            if not config.selects(alert.rule.name, alert.severity):
                continue
            if alert.state.consecutive < config.min_consecutive_windows:
                continue
            state = alert.state
            trigger = notify.Batch(
                receiver=config.name,
                group_key=state.fingerprint,
                group_labels={"model_id": state.key.model_id},
                alerts=(alert,),
                now=now,
                send_resolved=config.send_resolved,
                episode=f"{state.fingerprint}@{state.fired_at}",
            )
            pipeline.process(trigger)

    def _publish_advice(self, alert: Alert, now: float) -> None:
        """Hand a firing alert's advice to the advice topic (``notify.advice``: once per
        episode, not while silenced)."""
        advice = alert.state.advice
        if self._advice is None or not advice or advice.get("status") != "advised":
            return
        if not self.config.advice.selects(alert.rule.name):
            return
        state = alert.state
        self._advice.process(
            notify.Batch(
                receiver=ADVICE_RECEIVER,
                group_key=state.fingerprint,
                group_labels={"model_id": state.key.model_id},
                alerts=(alert,),
                now=now,
                send_resolved=False,
                episode=f"{state.fingerprint}@{state.fired_at}",
            )
        )

    # timers and delivery --------------------------------------------------------------------
    def tick(self, now: float) -> int:
        """Flush due groups (group_wait, group_interval, repeat_interval), forget old resolved
        alerts, then deliver due outbox rows. Returns the number delivered."""
        with self._lock:
            self._restore(now)
            for group_id, group in list(self._groups.items()):
                if group.next_flush_at <= now:
                    self._flush(group, now)
                    if not group.fingerprints:
                        del self._groups[group_id]
            items = self._queue.drain()
            if items:
                self.store.enqueue(items, now)
            self._forget(now)
        with self._delivery_lock:
            delivered = self._outbox.deliver_due(now)
            if now - self._last_prune > 3600:
                self._last_prune = now
                self.store.prune_outbox(now - OUTBOX_RETENTION)
        return delivered

    def _flush(self, group: AggregationGroup, now: float) -> None:
        """Hand the group's alerts to the notification path (``notify.routed``), which queues
        its notification, if any, for the end of the tick."""
        group.flushed = True
        group.next_flush_at = now + group.route.group_interval
        states = [self._states[f] for f in sorted(group.fingerprints) if f in self._states]
        group.fingerprints = {s.fingerprint for s in states if s.status == "firing"}
        receiver = self.config.receiver(group.receiver)
        batch = notify.Batch(
            receiver=group.receiver,
            group_key=group.key,
            group_labels=group.labels,
            alerts=tuple(self._alert(state) for state in states),
            now=now,
            send_resolved=receiver.send_resolved if receiver is not None else True,
            repeat_interval=group.route.repeat_interval,
        )
        self._notify.process(batch)

    def _forget(self, now: float) -> None:
        grouped = {f for group in self._groups.values() for f in group.fingerprints}
        forgotten = [
            f
            for f, s in self._states.items()
            if f not in grouped
            and (
                expire(s, now, self.config.resolved_retention)
                or (s.status == "inactive" and now - s.updated_at > STALE_INACTIVE)
            )
        ]
        if forgotten:
            for fingerprint in forgotten:
                del self._states[fingerprint]
            self.store.save_alerts([], deleted=forgotten)

    # introspection ----------------------------------------------------------------------------
    def alerts(self) -> list[AlertState]:
        """Current alert states (all instances evaluated recently)."""
        with self._lock:
            return list(self._states.values())

    def samples(self) -> list[CounterSample]:
        samples = self._counters.samples()
        with self._lock:
            by_state = {"pending": 0, "firing": 0, "resolved": 0}
            for state in self._states.values():
                if state.status in by_state:
                    by_state[state.status] += 1
        samples += [INSTANCES.sample(v, state=k) for k, v in by_state.items()]
        counts = self.store.outbox_counts()
        samples += [
            OUTBOX_NOTIFICATIONS.sample(counts.get(status, 0), status=status)
            for status in ("pending", "delivered", "failed")
        ]
        return samples

    # lifecycle of the manager itself --------------------------------------------------------
    def start(self) -> None:
        """Hand :meth:`tick` to the ticker: from now on it runs ``tick(now)`` periodically."""
        if self._ticker is None:
            raise AlertingError("this alert manager has no ticker: call tick(now) instead")
        self._ticker.start(self.tick)

    def stop(self) -> None:
        """Stop the ticker (waiting for a running tick) and release receivers and storage."""
        if self._ticker is not None:
            self._ticker.stop()
        for receiver in self._receivers.values():
            receiver.close()
        self.store.close()
