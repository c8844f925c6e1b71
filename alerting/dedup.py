"""Whether an alert group needs a notification now: a pure decision with its reason.

After Alertmanager's ``notify.DedupStage.needsUpdate``: the notification log remembers, per
receiver and group, which alerts were firing and resolved in the last notification sent. A group
is notified when something new fires, when everything it told about has resolved, when a
resolve is news (``send_resolved``), or when ``repeat_interval`` has passed; otherwise not.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LogEntry:
    """The notification log's memory of the last notification of one group to one receiver."""

    firing: frozenset[str]
    resolved: frozenset[str]
    timestamp: float


@dataclass(frozen=True)
class GroupView:
    """The group as it is now: fingerprints of firing and resolved (non-silenced) alerts."""

    firing: frozenset[str]
    resolved: frozenset[str]
    repeat_interval: float
    send_resolved: bool = True


@dataclass(frozen=True)
class Decision:
    notify: bool
    reason: str


def decide(entry: LogEntry | None, group: GroupView, now: float) -> Decision:
    """Notify or not, and why (the reason is counted and logged)."""
    if entry is None:
        if group.firing:
            return Decision(True, "new_group")
        return Decision(False, "nothing_firing")
    if not group.firing <= entry.firing:
        return Decision(True, "new_firing")
    if not group.firing:
        if entry.firing:
            # Sent even without send_resolved so that the log forgets the firing alerts;
            # the receiver then gets only what its send_resolved allows.
            return Decision(True, "all_resolved")
        return Decision(False, "nothing_firing")
    if group.send_resolved and not group.resolved <= entry.resolved:
        return Decision(True, "newly_resolved")
    if now - entry.timestamp >= group.repeat_interval:
        return Decision(True, "repeat_interval")
    return Decision(False, "unchanged")
