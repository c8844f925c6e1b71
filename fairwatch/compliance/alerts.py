"""Alerts and silences over a period, from the alert store (``alerting/store.py``).

Every fire and resolve is kept in the store's history; an episode is a fire and the resolve
that follows it. Episodes of alerts that fired before the history existed are taken from the
alerts' current states. A report shows the episodes that fired before the period's end and had
not resolved before its start; a resolve after the period's end is not shown (the report says
"still firing at the end of the period"), so that a report made later says the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from alerting.config import AlertingConfig
from alerting.model import AlertState
from alerting.rules import alert_labels, severity_of
from alerting.silences import Silence
from alerting.store import AlertStore
from fairwatch.compliance.model import AlertRecord, SilenceRecord
from fairwatch.compliance.period import Period


def episodes(history: Iterable[AlertState], current: Iterable[AlertState]) -> list[AlertState]:
    """One state per episode (``fired_at`` set; ``resolved_at`` once resolved), from the
    history of fires and resolves and the current states."""
    found: dict[tuple[str, float], AlertState] = {}
    for state in history:
        if state.fired_at is None:
            continue
        key = (state.fingerprint, state.fired_at)
        if state.status == "firing":
            found.setdefault(key, state)
        elif state.status == "resolved" and key in found:
            found[key] = replace(found[key], status="resolved", resolved_at=state.resolved_at)
    for state in current:
        if state.fired_at is None or state.status not in ("firing", "resolved"):
            continue
        key = (state.fingerprint, state.fired_at)
        if key not in found:  # fired before the history was kept: no value at firing known
            found[key] = replace(state, last=None)
        elif state.status == "resolved" and found[key].resolved_at is None:
            found[key] = replace(found[key], status="resolved", resolved_at=state.resolved_at)
    return sorted(found.values(), key=lambda state: (state.fired_at or 0.0, state.fingerprint))


def alert_records(
    store: AlertStore, settings: AlertingConfig, period: Period
) -> tuple[list[tuple[str, AlertRecord]], list[SilenceRecord]]:
    """``(model_id, record)`` of every episode in ``period``, and the silences in force
    during it with the episodes each muted."""
    silences = [s for s in store.silences() if period.overlaps(s.starts_at, s.ends_at)]
    records: list[tuple[str, AlertRecord]] = []
    muted: dict[str, set[str]] = {silence.id: set() for silence in silences}
    for state in episodes(store.alert_history(until=period.end), store.load_alerts()):
        fired = state.fired_at
        assert fired is not None
        resolved = state.resolved_at
        if resolved is not None and resolved > period.end:
            resolved = None  # after the period: "still firing at its end"
        if fired >= period.end or (resolved is not None and resolved <= period.start):
            continue
        labels, severity = _labels(state, settings)
        until = period.end if resolved is None else resolved
        by = sorted(
            silence.id
            for silence in silences
            if silence.starts_at < until
            and silence.ends_at > fired
            and all(matcher.matches(labels) for matcher in silence.matchers)
        )
        for silence_id in by:
            muted[silence_id].add(state.fingerprint)
        records.append((state.key.model_id, _record(state, severity, resolved, by)))
    return records, [_silence(silence, muted[silence.id]) for silence in _ordered(silences)]


def _labels(state: AlertState, settings: AlertingConfig) -> tuple[dict[str, str], str]:
    rule = settings.rule(state.key.rule)
    if rule is None:  # the rule was removed since: its identity is all that is known
        return {**state.key.labels(), "alertname": state.key.rule}, ""
    severity = severity_of(rule, state.key)
    return alert_labels(rule, state.key, severity), severity


def _record(
    state: AlertState, severity: str, resolved: float | None, silenced_by: Sequence[str]
) -> AlertRecord:
    key, last = state.key, state.last
    assert state.fired_at is not None
    return AlertRecord(
        rule=key.rule,
        severity=severity,
        fingerprint=key.fingerprint,
        kind=key.kind,
        attribute=key.attribute,
        metric=key.metric,
        window=key.window,
        group=key.group,
        fired_at=state.fired_at,
        resolved_at=resolved,
        value_at_firing=None if last is None else last.value,
        ci_at_firing=None if last is None else last.ci,
        window_end_at_firing=None if last is None else last.window_end,
        silenced_by=tuple(silenced_by),
    )


def _ordered(silences: Iterable[Silence]) -> list[Silence]:
    return sorted(silences, key=lambda silence: (silence.starts_at, silence.id))


def _silence(silence: Silence, muted: set[str]) -> SilenceRecord:
    return SilenceRecord(
        id=silence.id,
        created_by=silence.created_by,
        comment=silence.comment,
        matchers=tuple(str(matcher) for matcher in silence.matchers),
        starts_at=silence.starts_at,
        ends_at=silence.ends_at,
        muted=tuple(sorted(muted)),
    )
