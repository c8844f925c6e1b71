"""Routing: which receivers get an alert, and which group (one message) it belongs to.

An alert goes to its rule's ``receivers`` plus those of the first ``routing.routes`` entry
whose ``match`` globs all match its labels; that route's timing overrides the defaults. Within a
receiver, alerts sharing the values of the ``group_by`` labels form one aggregation group:
the group's first message waits ``group_wait`` (to gather alerts that fire together), later
changes are sent at most every ``group_interval``, and an unchanged firing group is re-sent after
``repeat_interval``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from alerting.config import AlertingConfig, RuleConfig


@dataclass(frozen=True)
class Route:
    receivers: tuple[str, ...]
    group_by: tuple[str, ...]
    group_wait: float
    group_interval: float
    repeat_interval: float


def route_for(config: AlertingConfig, rule: RuleConfig, labels: Mapping[str, str]) -> Route:
    defaults = config.routing
    route = Route(
        receivers=tuple(rule.receivers),
        group_by=tuple(defaults.group_by),
        group_wait=float(defaults.group_wait),
        group_interval=float(defaults.group_interval),
        repeat_interval=float(defaults.repeat_interval),
    )
    override = next((route for route in defaults.routes if route.matches(labels)), None)
    if override is None:
        return route
    return Route(
        receivers=route.receivers
        + tuple(name for name in override.receivers if name not in route.receivers),
        group_by=route.group_by if override.group_by is None else tuple(override.group_by),
        group_wait=_either(override.group_wait, route.group_wait),
        group_interval=_either(override.group_interval, route.group_interval),
        repeat_interval=_either(override.repeat_interval, route.repeat_interval),
    )


def _either(overridden: float | None, default: float) -> float:
    return default if overridden is None else float(overridden)


def group_key(group_by: tuple[str, ...], labels: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """The group's key (``{model_id="credit",rule="dp"}``) and its labels."""
    group_labels = {name: labels.get(name, "") for name in sorted(group_by)}
    key = "{" + ",".join(f'{name}="{value}"' for name, value in group_labels.items()) + "}"
    return key, group_labels


@dataclass
class AggregationGroup:
    """Alerts of one receiver sharing a group key, flushed together at ``next_flush_at``."""

    receiver: str
    key: str
    labels: dict[str, str]
    route: Route
    next_flush_at: float
    fingerprints: set[str] = field(default_factory=set)
    flushed: bool = False

    def add(self, fingerprint: str, now: float) -> None:
        self.fingerprints.add(fingerprint)
        if not self.flushed:
            self.next_flush_at = min(self.next_flush_at, now + self.route.group_wait)
