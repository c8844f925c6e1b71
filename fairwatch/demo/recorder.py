"""What the demo watches while it runs: closed windows, alert episodes, delivered notifications.

Nothing here changes what the pipeline or the alert manager do: the window recorder is one more
evaluation listener, the alert recorder reads the manager's alert states, and the recording
receiver wraps a real receiver and keeps a copy of each payload it delivered.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from alerting.model import AlertState, Notification
from alerting.receivers import DeliveryContext, DeliveryResult, Receiver
from alerting.receivers.common import ReceiverConfigBase
from alerting.receivers.webhook import notification_body
from fairwatch.demo.report import AlertRecord
from monitor.results import Disparity, GroupResult, WindowEvaluation


@dataclass
class WindowRecorder:
    """Keeps the latest closed window per attribute (for the live table) and counts windows."""

    metric: str
    windows: int = 0
    latest_end: float | None = None
    groups: dict[str, tuple[GroupResult, ...]] = field(default_factory=dict)
    disparities: dict[str, Disparity] = field(default_factory=dict)

    def on_evaluations(self, evaluations: Sequence[WindowEvaluation], now: float) -> None:
        for evaluation in evaluations:
            self.windows += 1
            if self.latest_end is not None and evaluation.window_end < self.latest_end:
                continue
            self.latest_end = evaluation.window_end
            by_attribute: dict[str, list[GroupResult]] = {}
            for group in evaluation.groups:
                by_attribute.setdefault(group.attribute, []).append(group)
            self.groups = {name: tuple(groups) for name, groups in by_attribute.items()}
            self.disparities = {
                disparity.attribute: disparity
                for disparity in evaluation.disparities
                if disparity.metric == self.metric and disparity.group is None
            }


@dataclass
class AlertRecorder:
    """Turns the alert manager's states into episodes (fired → resolved).

    As an evaluation listener placed after the alert manager, it reads ``states()`` (the
    manager's ``alerts``) once the manager has seen the windows, and hands each transition as a
    line to ``on_lines``.
    """

    states: Callable[[], Iterable[AlertState]] = list
    on_lines: Callable[[list[str]], None] | None = None
    episodes: dict[tuple[str, float], AlertRecord] = field(default_factory=dict)
    pending: dict[str, float] = field(default_factory=dict)
    transitions: list[tuple[float, str, AlertRecord]] = field(default_factory=list)

    def on_evaluations(self, evaluations: Sequence[WindowEvaluation], now: float) -> None:
        lines = self.observe(self.states(), now)
        if lines and self.on_lines is not None:
            self.on_lines(lines)

    def observe(self, states: Iterable[AlertState], now: float) -> list[str]:
        """Record what changed; returns one human-readable line per transition."""
        lines: list[str] = []
        for state in states:
            if state.status == "pending" and state.active_at is not None:
                if state.fingerprint not in self.pending:
                    self.pending[state.fingerprint] = state.active_at
            else:
                self.pending.pop(state.fingerprint, None)
            if state.fired_at is None:
                continue
            key = (state.fingerprint, state.fired_at)
            value = state.last.value if state.last is not None else None
            record = self.episodes.get(key)
            if record is None:
                record = AlertRecord(
                    rule=state.key.rule,
                    model_id=state.key.model_id,
                    attribute=state.key.attribute,
                    metric=state.key.metric,
                    window=state.key.window,
                    group=state.key.group,
                    fired_at=state.fired_at,
                    value_at_firing=value,
                    peak_value=value,
                    fingerprint=state.fingerprint,
                )
                self._transition(now, "firing", record, lines)
            elif value is not None and (record.peak_value is None or value > record.peak_value):
                record = replace(record, peak_value=value)
            if state.status == "resolved" and record.resolved_at is None:
                record = replace(record, resolved_at=state.resolved_at)
                self._transition(now, "resolved", record, lines)
            self.episodes[key] = record
        return lines

    def _transition(
        self,
        now: float,
        status: Literal["firing", "resolved"],
        record: AlertRecord,
        lines: list[str],
    ) -> None:
        self.transitions.append((now, status, record))
        lines.append(f"{status} {record.rule} {record.name}")

    @property
    def alerts(self) -> list[AlertRecord]:
        return sorted(self.episodes.values(), key=lambda record: record.fired_at)

    @property
    def firing(self) -> int:
        return sum(1 for record in self.episodes.values() if record.resolved_at is None)


class RecordingReceiver:
    """A real receiver that also keeps the JSON body of each notification it delivered."""

    def __init__(self, receiver: Receiver) -> None:
        self._receiver = receiver
        self.name = receiver.name
        self.kind = receiver.kind
        self._lock = threading.Lock()
        self.delivered: list[dict[str, Any]] = []

    @property
    def config(self) -> ReceiverConfigBase:
        return self._receiver.config

    def send(self, notification: Notification, context: DeliveryContext) -> DeliveryResult:
        result = self._receiver.send(notification, context)
        with self._lock:
            self.delivered.append(notification_body(notification))
        return result

    def close(self) -> None:
        self._receiver.close()
