"""Alert episodes (fired → resolved) as a replay saw them, and receivers that record.

Nothing here changes what the alert manager does. :class:`EpisodeRecorder` stands between the
closed-window gate and the manager: it hands the manager the windows released, one window end at
a time (in the order the gate releases them, so the manager's states are the same as when it gets
them all at once), and after each reads the manager's alert states. An episode's value at firing,
its interval and the extremes of the disparity are therefore those of the very window that fired
it, and its peak covers every window judged while it fired.

:class:`RecordingReceiver` keeps the JSON body of each notification the manager delivers to it,
and passes it on to a real receiver when it wraps one (the demo's ``--webhook``); without one it
sends nothing anywhere (``fairwatch backtest``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

from alerting.config import RuleConfig
from alerting.model import AlertKey, AlertState, Notification
from alerting.receivers import DeliveryContext, DeliveryResult, ReceiverConfig
from alerting.receivers.common import ReceiverConfigBase
from alerting.receivers.retraining import RetrainingConfig
from alerting.receivers.webhook import notification_body
from alerting.rules import LOW_VOLUME
from alerting.types import Receiver
from monitor.engine.results import WindowEvaluation

Transition = Literal["firing", "resolved"]


@dataclass(frozen=True)
class Extremes:
    """Who a disparity is about: the groups with the highest and lowest value of ``rate``."""

    rate: str | None
    highest_group: str | None
    highest_rate: float | None
    lowest_group: str | None
    lowest_rate: float | None


@dataclass(frozen=True)
class Episode:
    """One alert episode, in event time: fired at ``fired_at``, resolved at ``resolved_at``
    (``None`` while it still fires).

    ``value_at_firing`` and ``ci_at_firing`` are those of the window whose judgement fired it
    (ending at ``window_end_at_firing``); ``peak_value`` is the worst value judged while it fired
    (the highest for a ``>`` rule, the lowest for a ``<`` rule); ``extremes`` names the groups of
    the firing window's disparity with the highest and lowest rate, when the evaluation carries
    them.
    """

    rule: str
    model_id: str
    attribute: str
    metric: str
    window: str
    fired_at: float
    resolved_at: float | None = None
    value_at_firing: float | None = None
    peak_value: float | None = None
    group: str | None = None
    fingerprint: str = ""
    kind: str = "disparity"
    ci_at_firing: tuple[float, float] | None = None
    window_end_at_firing: float | None = None
    extremes: Extremes | None = None

    @property
    def name(self) -> str:
        target = self.attribute if self.group is None else f"{self.attribute}={self.group}"
        return f"{target} · {self.metric} · {self.window}"


class AlertJudge(Protocol):
    """What the recorder needs of the alert manager."""

    def on_evaluations(
        self, evaluations: Sequence[WindowEvaluation], now: float, watermark: float
    ) -> None: ...

    def alerts(self) -> list[AlertState]: ...


@dataclass
class EpisodeRecorder:
    """Records the episodes of the alert states of ``judge`` (the alert manager).

    As an evaluation listener (of the closed-window gate) it hands each run of windows with one
    window end to ``judge``, then reads ``judge.alerts()``; without a judge it reads
    ``states()``. ``rules`` (by name) say which way each rule breaches, for the peak.
    ``on_transition(now, status, episode)`` is called when an episode fires and when it
    resolves.
    """

    judge: AlertJudge | None = None
    rules: Mapping[str, RuleConfig] = field(default_factory=dict)
    on_transition: Callable[[float, Transition, Episode], None] | None = None
    states: Callable[[], Iterable[AlertState]] = list
    episodes: dict[tuple[str, float], Episode] = field(default_factory=dict)
    pending: dict[str, float] = field(default_factory=dict)

    def on_evaluations(
        self, evaluations: Sequence[WindowEvaluation], now: float, watermark: float
    ) -> None:
        if self.judge is None:
            self.observe(self.states(), evaluations, now)
            return
        for run in _runs_by_window_end(evaluations):
            self.judge.on_evaluations(run, now, watermark)
            self.observe(self.judge.alerts(), run, now)

    def observe(
        self,
        states: Iterable[AlertState],
        evaluations: Sequence[WindowEvaluation] = (),
        now: float = 0.0,
    ) -> None:
        """Record what changed in ``states`` after ``evaluations`` were judged at ``now``."""
        for state in states:
            if state.status == "pending" and state.active_at is not None:
                self.pending.setdefault(state.fingerprint, state.active_at)
            else:
                self.pending.pop(state.fingerprint, None)
            if state.fired_at is None:
                continue
            key = (state.fingerprint, state.fired_at)
            last = state.last
            value = last.value if last is not None else None
            episode = self.episodes.get(key)
            if episode is None:
                episode = Episode(
                    rule=state.key.rule,
                    model_id=state.key.model_id,
                    attribute=state.key.attribute,
                    metric=state.key.metric,
                    window=state.key.window,
                    group=state.key.group,
                    kind=state.key.kind,
                    fired_at=state.fired_at,
                    value_at_firing=value,
                    peak_value=value,
                    fingerprint=state.fingerprint,
                    ci_at_firing=last.ci if last is not None else None,
                    window_end_at_firing=last.window_end if last is not None else None,
                    extremes=_extremes(state, evaluations),
                )
                self._transition(now, "firing", episode)
            elif state.status == "firing" and self._worse(state.key, value, episode.peak_value):
                episode = replace(episode, peak_value=value)
            if state.status == "resolved" and episode.resolved_at is None:
                episode = replace(episode, resolved_at=state.resolved_at)
                self._transition(now, "resolved", episode)
            self.episodes[key] = episode

    def _worse(self, key: AlertKey, value: float | None, peak: float | None) -> bool:
        if value is None:
            return False
        if peak is None:
            return True
        rule = self.rules.get(key.rule)
        upward = key.kind != LOW_VOLUME and (rule is None or rule.condition.upward)
        return value > peak if upward else value < peak

    def _transition(self, now: float, status: Transition, episode: Episode) -> None:
        if self.on_transition is not None:
            self.on_transition(now, status, episode)

    @property
    def alerts(self) -> list[Episode]:
        """Every episode, by firing time."""
        return sorted(
            self.episodes.values(), key=lambda episode: (episode.fired_at, episode.fingerprint)
        )

    @property
    def firing(self) -> int:
        return sum(1 for episode in self.episodes.values() if episode.resolved_at is None)


def _runs_by_window_end(
    evaluations: Sequence[WindowEvaluation],
) -> Iterator[list[WindowEvaluation]]:
    """Consecutive evaluations with the same window end (the gate releases them in order)."""
    run: list[WindowEvaluation] = []
    for evaluation in evaluations:
        if run and evaluation.window_end != run[-1].window_end:
            yield run
            run = []
        run.append(evaluation)
    if run:
        yield run


def _extremes(state: AlertState, evaluations: Sequence[WindowEvaluation]) -> Extremes | None:
    """The extremes of the disparity that fired ``state``, when its evaluation names them."""
    key = state.key
    last = state.last
    if last is None or key.kind == LOW_VOLUME:
        return None
    for evaluation in evaluations:
        if (
            evaluation.model_id != key.model_id
            or evaluation.window != key.window
            or evaluation.window_end != last.window_end
        ):
            continue
        for disparity in evaluation.disparities:
            if (disparity.attribute, disparity.metric, disparity.group) != (
                key.attribute,
                key.metric,
                key.group,
            ):
                continue
            if disparity.highest_group is None and disparity.lowest_group is None:
                return None
            return Extremes(
                rate=disparity.rate,
                highest_group=disparity.highest_group,
                highest_rate=disparity.highest_rate,
                lowest_group=disparity.lowest_group,
                lowest_rate=disparity.lowest_rate,
            )
    return None


class RecordingReceiver:
    """A receiver that keeps the JSON body of each notification delivered to it, and passes it
    on to ``receiver`` when one is given; without one nothing is sent anywhere."""

    def __init__(self, config: ReceiverConfig, receiver: Receiver | None = None) -> None:
        self._config = config
        self._receiver = receiver
        self.name = config.name
        self.kind: Literal["notify", "retrain"] = (
            "retrain" if isinstance(config, RetrainingConfig) else "notify"
        )
        self._lock = threading.Lock()
        self.delivered: list[dict[str, Any]] = []

    @property
    def config(self) -> ReceiverConfigBase:
        return self._config

    def send(self, notification: Notification, context: DeliveryContext) -> DeliveryResult:
        result = (
            self._receiver.send(notification, context)
            if self._receiver is not None
            else DeliveryResult(detail="recorded, not sent")
        )
        with self._lock:
            self.delivered.append(notification_body(notification))
        return result

    def close(self) -> None:
        if self._receiver is not None:
            self._receiver.close()
