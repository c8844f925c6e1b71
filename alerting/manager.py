"""The alert manager: evaluations in, notifications out.

Stages (each a small module): ``rules.observe`` → ``lifecycle.evaluate`` → ``routing`` (groups)
→ ``silences`` (mute) → ``dedup.decide`` against the notification log → durable outbox
(``store``) → ``delivery`` (retry, rate limit) → receivers. Only ``start()`` reads the clock;
everything else takes ``now``.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from alerting.config import AlertingConfig, RuleConfig
from alerting.dedup import GroupView, LogEntry, decide
from alerting.delivery import Outbox
from alerting.lifecycle import evaluate, expire
from alerting.metrics import Counters, gauge
from alerting.model import AlertState, Notification
from alerting.receivers import Receiver, build_receiver
from alerting.receivers.retraining import RetrainingConfig
from alerting.render import iso_time
from alerting.routing import AggregationGroup, group_key, route_for
from alerting.rules import alert_labels, observe, severity_of, snapshot
from alerting.silences import Silence, muted
from alerting.store import AlertStore, Enqueue
from monitor.engine.results import WindowEvaluation
from monitor.types import CounterSample

log = logging.getLogger("fairwatch.alerting")

STALE_INACTIVE = 7 * 86400.0  # forget an inactive instance not evaluated for a week
OUTBOX_RETENTION = 7 * 86400.0  # keep delivered/failed outbox rows this long (audit)


class AlertManager:
    """Turns ``WindowEvaluation``s into notifications; an ``EvaluationListener`` and a
    ``CounterSource`` of the daemon. Thread-safe: the daemon calls ``on_evaluations`` while the
    scheduler started by ``start()`` calls ``tick``. ``durable=False`` skips the fsync of each
    change of its store (a replay whose state is thrown away)."""

    def __init__(
        self,
        config: AlertingConfig,
        state_dir: str | Path,
        *,
        receivers: Mapping[str, Receiver] | None = None,
        rand: Callable[[], float] = random.random,
        durable: bool = True,
    ) -> None:
        self.config = config
        self.store = AlertStore(Path(state_dir) / config.storage.path, durable=durable)
        self._receivers: dict[str, Receiver] = dict(
            receivers
            if receivers is not None
            else {c.name: build_receiver(c) for c in config.receivers}
        )
        self._counters = Counters()
        self._outbox = Outbox(self.store, self._receivers, self._counters, rand)
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
        self._scheduler: Any = None
        self._clock: Callable[[], float] = time.time

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
            for evaluation in evaluations:
                try:
                    observations = observe(self.config.rules, evaluation)
                except Exception:  # a malformed evaluation is logged and skipped, never fatal
                    log.exception(
                        "event=evaluation_rejected model_id=%s window=%s",
                        getattr(evaluation, "model_id", "?"),
                        getattr(evaluation, "window", "?"),
                    )
                    self._counters.inc("fairwatch_alert_evaluations_rejected_total")
                    continue
                for observation in observations:
                    fingerprint = observation.key.fingerprint
                    previous = self._states.get(fingerprint)
                    state = evaluate(previous, observation, now)
                    self._states[fingerprint] = changed[fingerprint] = state
                    before = previous.status if previous else "inactive"
                    if before != state.status:
                        self._on_transition(before, state, now)
                    if state.status == "firing":
                        self._maybe_retrain(state, now)
            if changed:
                self.store.save_alerts(list(changed.values()))

    def _on_transition(self, before: str, state: AlertState, now: float) -> None:
        self._counters.inc(
            "fairwatch_alert_transitions_total", rule=state.key.rule, to=state.status
        )
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
        if state.status in ("firing", "resolved"):
            self._route(state, now)

    def _rule(self, state: AlertState) -> RuleConfig:
        rule = self.config.rule(state.key.rule)
        assert rule is not None  # states of removed rules are dropped at load
        return rule

    def _route(self, state: AlertState, now: float) -> None:
        rule = self._rule(state)
        labels = alert_labels(rule, state.key, severity_of(rule, state.key))
        route = route_for(self.config, rule, labels)
        key, group_labels = group_key(route.group_by, labels)
        for receiver in route.receivers:
            group = self._groups.get((receiver, key))
            if group is None:
                group = AggregationGroup(receiver, key, group_labels, route, now + route.group_wait)
                self._groups[(receiver, key)] = group
            group.add(state.fingerprint, now)

    def _restore(self, now: float) -> None:
        """After a restart, regroup firing and resolved alerts; the notification log decides
        whether anything still needs to be sent (no duplicate page, no lost resolve)."""
        if self._restored:
            return
        self._restored = True
        for state in self._states.values():
            if state.status in ("firing", "resolved"):
                self._route(state, now)

    # timers and delivery --------------------------------------------------------------------
    def tick(self, now: float) -> int:
        """Flush due groups (group_wait, group_interval, repeat_interval), forget old resolved
        alerts, then deliver due outbox rows. Returns the number delivered."""
        with self._lock:
            self._restore(now)
            silences = self.store.silences(now, include_expired=False)
            items: list[Enqueue] = []
            for group_id, group in list(self._groups.items()):
                if group.next_flush_at <= now:
                    items.extend(self._flush(group, silences, now))
                    if not group.fingerprints:
                        del self._groups[group_id]
            if items:
                self.store.enqueue(items, now)
            self._forget(now)
        with self._delivery_lock:
            delivered = self._outbox.deliver_due(now)
            if now - self._last_prune > 3600:
                self._last_prune = now
                self.store.prune_outbox(now - OUTBOX_RETENTION)
        return delivered

    def _flush(self, group: AggregationGroup, silences: list[Silence], now: float) -> list[Enqueue]:
        group.flushed = True
        group.next_flush_at = now + group.route.group_interval
        states = [self._states[f] for f in sorted(group.fingerprints) if f in self._states]
        group.fingerprints = {s.fingerprint for s in states if s.status == "firing"}
        visible: list[AlertState] = []
        for state in states:
            rule = self._rule(state)
            labels = alert_labels(rule, state.key, severity_of(rule, state.key))
            if muted(silences, labels, now):
                self._counters.inc(
                    "fairwatch_alert_notifications_suppressed_total", reason="silenced"
                )
            elif state.status in ("firing", "resolved"):
                visible.append(state)
        if not visible:
            return []  # all muted: the log is left alone, as in Alertmanager's mute stage
        receiver_config = self.config.receiver(group.receiver)
        send_resolved = receiver_config.send_resolved if receiver_config else True
        firing = frozenset(s.fingerprint for s in visible if s.status == "firing")
        resolved = frozenset(s.fingerprint for s in visible if s.status == "resolved")
        entry = self.store.log_entry(group.receiver, group.key)
        view = GroupView(firing, resolved, group.route.repeat_interval, send_resolved)
        decision = decide(entry, view, now)
        log.debug(
            "event=notify_decision receiver=%s group=%s notify=%s reason=%s",
            group.receiver,
            group.key,
            decision.notify,
            decision.reason,
        )
        if not decision.notify:
            if decision.reason != "unchanged":
                self._counters.inc(
                    "fairwatch_alert_notifications_suppressed_total", reason=decision.reason
                )
            return []
        alerts = tuple(
            snapshot(self._rule(s), s, "firing" if s.status == "firing" else "resolved")
            for s in visible
            if s.status == "firing" or send_resolved
        )
        record = LogEntry(firing, resolved, now)
        if not alerts:
            return [Enqueue(group.receiver, group.key, log=record)]
        notification = Notification(
            receiver=group.receiver,
            group_key=group.key,
            group_labels=group.labels,
            status="firing" if firing else "resolved",
            alerts=alerts,
            created_at=now,
        )
        idempotency_key = _digest(
            group.receiver, group.key, f"{now:.6f}", *sorted(firing), "|", *sorted(resolved)
        )
        log.info(
            "event=notification_queued receiver=%s group=%s status=%s reason=%s alerts=%d",
            group.receiver,
            group.key,
            notification.status,
            decision.reason,
            len(alerts),
        )
        return [Enqueue(group.receiver, group.key, idempotency_key, notification, record)]

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

    # retraining -----------------------------------------------------------------------------
    def _maybe_retrain(self, state: AlertState, now: float) -> None:
        rule = self._rule(state)
        severity = severity_of(rule, state.key)
        for config in self.config.receivers:
            if not isinstance(config, RetrainingConfig) or not config.selects(rule.name, severity):
                continue
            if state.consecutive < config.min_consecutive_windows:
                continue
            episode = f"{state.fingerprint}@{state.fired_at}"
            if self.store.episode_seen(config.name, episode):
                continue
            labels = alert_labels(rule, state.key, severity)
            if muted(self.store.silences(now, include_expired=False), labels, now):
                self._counters.inc(
                    "fairwatch_alert_notifications_suppressed_total", reason="silenced"
                )
                continue
            last = self.store.last_trigger(config.name, state.key.model_id)
            if last is not None and now - last < config.cooldown:
                self._counters.inc(
                    "fairwatch_alert_notifications_suppressed_total", reason="cooldown"
                )
                continue
            recent = [
                {
                    **asdict(point),
                    "window_start": iso_time(point.window_start),
                    "window_end": iso_time(point.window_end),
                    "ci": list(point.ci) if point.ci else None,
                }
                for point in state.recent
            ]
            notification = Notification(
                receiver=config.name,
                group_key=state.fingerprint,
                group_labels={"model_id": state.key.model_id},
                status="firing",
                alerts=(snapshot(rule, state, "firing"),),
                created_at=now,
                evidence={"recent_windows": recent},
            )
            item = Enqueue(
                config.name, state.fingerprint, _digest(config.name, episode), notification
            )
            self.store.enqueue_trigger(item, state.key.model_id, episode, now)
            log.info(
                "event=retraining_queued receiver=%s model_id=%s rule=%s fingerprint=%s",
                config.name,
                state.key.model_id,
                rule.name,
                state.fingerprint,
            )

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
        samples += [gauge("fairwatch_alerts", float(v), state=k) for k, v in by_state.items()]
        counts = self.store.outbox_counts()
        samples += [
            gauge("fairwatch_alert_outbox", float(counts.get(status, 0)), status=status)
            for status in ("pending", "delivered", "failed")
        ]
        return samples

    # lifecycle of the manager itself --------------------------------------------------------
    def start(self, clock: Callable[[], float] = time.time) -> None:
        """Run ``tick(clock())`` every ``tick_interval`` seconds in a background thread (pass the
        daemon's clock when it is not the wall clock)."""
        from apscheduler.schedulers.background import BackgroundScheduler

        if self._scheduler is not None:
            return
        self._clock = clock
        scheduler = BackgroundScheduler(daemon=True)
        scheduler.add_job(
            self._scheduled_tick,
            "interval",
            seconds=self.config.tick_interval,
            max_instances=1,
            coalesce=True,
            id="fairwatch-alerting-tick",
        )
        scheduler.start()
        self._scheduler = scheduler

    def _scheduled_tick(self) -> None:
        try:
            self.tick(self._clock())
        except Exception:  # a failing tick must not stop the scheduler; it is retried next time
            log.exception("event=alerting_tick_failed")

    def stop(self) -> None:
        """Stop the scheduler (waiting for a running tick) and release receivers and storage."""
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None
        for receiver in self._receivers.values():
            receiver.close()
        self.store.close()


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
