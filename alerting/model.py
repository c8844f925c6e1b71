"""Value types of the alert manager: observations, alert states and notifications.

They are frozen dataclasses that round-trip through JSON (``to_json``/``from_json``) so that alert
state and the outbox persist in SQLite and read back equal.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import orjson

from alerting.sequential import DetectorState, SequentialStep

AlertStatus = Literal["inactive", "pending", "firing", "resolved"]
ObservationKind = Literal["breach", "hold", "clear", "insufficient"]
Severity = Literal["info", "warning", "critical"]
Interval = tuple[float, float]


@dataclass(frozen=True)
class AlertKey:
    """Identity of one alert instance: a rule applied to one model, attribute, metric and window
    (and group, for a group's ratio to the reference group). ``kind`` is ``disparity`` or
    ``low_volume`` (a rule's own alert for groups that stay below the minimum sample size)."""

    rule: str
    model_id: str
    attribute: str
    metric: str
    window: str
    group: str | None = None
    kind: str = "disparity"

    @property
    def fingerprint(self) -> str:
        """A stable 16-hex-digit id: equal keys give equal fingerprints across restarts."""
        parts = [self.rule, self.model_id, self.attribute, self.metric, self.window]
        if self.group is not None:
            parts.append(self.group)
        if self.kind != "disparity":
            parts.append(self.kind)
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]

    def labels(self) -> dict[str, str]:
        labels = {
            "rule": self.rule,
            "model_id": self.model_id,
            "attribute": self.attribute,
            "metric": self.metric,
            "window": self.window,
        }
        if self.group is not None:
            labels["group"] = self.group
        if self.kind != "disparity":
            labels["kind"] = self.kind
        return labels


@dataclass(frozen=True)
class WindowPoint:
    """One evaluated window of an alert instance, kept as evidence (recent history)."""

    window_start: float
    window_end: float
    value: float | None
    ci: Interval | None
    kind: ObservationKind


@dataclass(frozen=True)
class Observation:
    """What one evaluated window says about one alert instance.

    ``kind``: ``breach`` (beyond the firing threshold), ``hold`` (between the clear and firing
    thresholds: the hysteresis band), ``clear`` (back on the good side of the clear threshold) or
    ``insufficient`` (too few samples or undefined value: never a breach). ``for_seconds`` and
    ``for_evaluations`` are the rule's ``for``: how long / how many consecutive windows a breach
    must hold before the alert fires. ``extremes`` names who the disparity is about (``rate``,
    ``highest_group``, ``highest_rate``, ``lowest_group``, ``lowest_rate``; None when not
    computable) and ``small_groups`` the groups left out for too little data. ``for_windows`` is
    the rule's count of breaching windows that do not overlap. ``sequential`` holds a sequential
    rule's counts of the window (its kind is then decided by the alert's detector in
    ``lifecycle.evaluate``).
    """

    key: AlertKey
    kind: ObservationKind
    window_start: float
    window_end: float
    value: float | None = None
    ci: Interval | None = None
    min_group_n: int = 0
    for_seconds: float = 0.0
    for_evaluations: int = 0
    groups: tuple[dict[str, Any], ...] = ()
    extremes: dict[str, Any] | None = None
    small_groups: tuple[str, ...] = ()
    for_windows: int = 0
    sequential: SequentialStep | None = None

    def point(self) -> WindowPoint:
        return WindowPoint(self.window_start, self.window_end, self.value, self.ci, self.kind)


@dataclass(frozen=True)
class AlertState:
    """The lifecycle state of one alert instance (see ``alerting.lifecycle.evaluate``).

    ``active_at`` is when the current breach started (pending or firing), ``fired_at`` when it
    started firing, ``resolved_at`` when it resolved; ``consecutive`` counts consecutive breaching
    windows, ``distinct_windows`` those of them that do not overlap (``distinct_until`` is the end
    of the last one counted); ``last`` is the latest observation; ``recent`` the last few windows
    (evidence); ``detector`` the evidence of a sequential rule (``alerting.sequential``);
    ``advice`` the threshold advice computed when it started firing (``alerting.advice``, a
    JSON-ready dict; None when none applies).
    """

    key: AlertKey
    status: AlertStatus
    active_at: float | None = None
    fired_at: float | None = None
    resolved_at: float | None = None
    consecutive: int = 0
    last_window_end: float | None = None
    last: Observation | None = None
    recent: tuple[WindowPoint, ...] = ()
    updated_at: float = 0.0
    distinct_windows: int = 0
    distinct_until: float | None = None
    detector: DetectorState | None = None
    advice: dict[str, Any] | None = None

    @property
    def fingerprint(self) -> str:
        return self.key.fingerprint

    def to_json(self) -> bytes:
        return orjson.dumps(self)  # orjson writes dataclasses as asdict would, much faster

    @staticmethod
    def from_json(data: bytes | str) -> AlertState:
        raw = orjson.loads(data)
        key = AlertKey(**raw["key"])
        last = raw.get("last")
        observation = None
        if last is not None:
            last["key"] = key
            last["ci"] = _interval(last.get("ci"))
            last["groups"] = tuple(last.get("groups") or ())
            last["small_groups"] = tuple(last.get("small_groups") or ())
            step = last.get("sequential")
            last["sequential"] = None if step is None else SequentialStep.from_dict(step)
            observation = Observation(**last)
        recent = tuple(
            replace(WindowPoint(**point), ci=_interval(point.get("ci")))
            for point in raw.get("recent") or ()
        )
        detector = raw.get("detector")
        raw.update(
            key=key,
            last=observation,
            recent=recent,
            detector=None if detector is None else DetectorState.from_dict(detector),
        )
        return AlertState(**raw)


def _interval(value: Any) -> Interval | None:
    if value is None:
        return None
    low, high = value
    return (float(low), float(high))


@dataclass(frozen=True)
class AlertSnapshot:
    """One alert as a receiver sees it: the documented webhook payload of one alert. ``advice``
    is the threshold advice of a firing alert (``alerting.advice``; None when none applies)."""

    status: Literal["firing", "resolved"]
    rule: str
    severity: str
    model_id: str
    attribute: str
    metric: str
    window: str
    value: float | None
    ci: Interval | None
    threshold: float
    fingerprint: str
    starts_at: float | None
    ends_at: float | None
    op: str = ">"
    clear_threshold: float | None = None
    mode: str = "point"
    group: str | None = None
    kind: str = "disparity"
    window_start: float | None = None
    window_end: float | None = None
    groups: tuple[dict[str, Any], ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    extremes: dict[str, Any] | None = None
    small_groups: tuple[str, ...] = ()
    advice: dict[str, Any] | None = None


@dataclass(frozen=True)
class Notification:
    """One message to one receiver about one alert group (one or more alerts).

    ``status`` is ``firing`` when any alert in it fires, else ``resolved``.
    """

    receiver: str
    group_key: str
    group_labels: dict[str, str]
    status: Literal["firing", "resolved"]
    alerts: tuple[AlertSnapshot, ...]
    created_at: float
    test: bool = False
    evidence: dict[str, Any] | None = None

    @property
    def firing(self) -> tuple[AlertSnapshot, ...]:
        return tuple(alert for alert in self.alerts if alert.status == "firing")

    @property
    def resolved(self) -> tuple[AlertSnapshot, ...]:
        return tuple(alert for alert in self.alerts if alert.status == "resolved")

    def to_json(self) -> bytes:
        return orjson.dumps(self)  # orjson writes dataclasses as asdict would, much faster

    @staticmethod
    def from_json(data: bytes | str) -> Notification:
        raw = orjson.loads(data)
        alerts = []
        for alert in raw["alerts"]:
            alert["ci"] = _interval(alert.get("ci"))
            alert["groups"] = tuple(alert.get("groups") or ())
            alert["small_groups"] = tuple(alert.get("small_groups") or ())
            alerts.append(AlertSnapshot(**alert))
        raw["alerts"] = tuple(alerts)
        return Notification(**raw)
