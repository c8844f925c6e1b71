"""Silences: time-boxed mutes of the alerts whose labels match every matcher.

A matcher is ``name=value``, ``name!=value``, ``name=~regex`` or ``name!~regex`` (regexes match
the whole value), as in Alertmanager. A silenced alert keeps its state; only notifications about
it are held back, and when the silence ends a still-firing alert is notified.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from alerting.errors import AlertingError

MatchOp = Literal["=", "!=", "=~", "!~"]
_OPS: dict[str, MatchOp] = {"=": "=", "!=": "!=", "=~": "=~", "!~": "!~"}
# The labels an alert carries (``rules.alert_labels``): its identity (``AlertKey.labels``, with
# ``group`` and ``kind`` on some alerts only), ``severity`` and ``alertname``; rules add their own.
ALERT_LABELS = (
    "alertname",
    "rule",
    "severity",
    "model_id",
    "attribute",
    "metric",
    "window",
    "group",
    "kind",
)
SEVERITIES = ("info", "warning", "critical")
_MATCHER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")


class SilenceError(AlertingError):
    """A silence or matcher is malformed, or names no known silence."""


@dataclass(frozen=True)
class Matcher:
    name: str
    op: MatchOp
    value: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        found = re.fullmatch(self.value, actual) is not None
        return found if self.op == "=~" else not found

    def __str__(self) -> str:
        return f"{self.name}{self.op}{self.value}"


def parse_matcher(text: str) -> Matcher:
    """``Matcher`` from ``name=value`` / ``name!=value`` / ``name=~re`` / ``name!~re``."""
    match = _MATCHER.match(text)
    if not match:
        raise SilenceError(
            f"matcher {text!r}: expected name=value, name!=value, name=~regex or name!~regex"
        )
    name, op_text, value = match.groups()
    op = _OPS[op_text]
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    if op in ("=~", "!~"):
        try:
            re.compile(value)
        except re.error as error:
            raise SilenceError(f"matcher {text!r}: invalid regex: {error}") from None
    return Matcher(name, op, value)


@dataclass(frozen=True)
class Silence:
    """Mutes matching alerts from ``starts_at`` (inclusive) to ``ends_at`` (exclusive)."""

    matchers: tuple[Matcher, ...]
    starts_at: float
    ends_at: float
    created_by: str = ""
    comment: str = ""
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    def active(self, now: float) -> bool:
        return self.starts_at <= now < self.ends_at

    def state(self, now: float) -> str:
        if now < self.starts_at:
            return "pending"
        return "active" if now < self.ends_at else "expired"

    def mutes(self, labels: Mapping[str, str], now: float) -> bool:
        return self.active(now) and all(matcher.matches(labels) for matcher in self.matchers)


def new_silence(
    matchers: Iterable[str],
    starts_at: float,
    duration: float,
    max_duration: float,
    created_by: str = "",
    comment: str = "",
) -> Silence:
    """A validated silence: at least one matcher, a positive duration at most ``max_duration``."""
    parsed = tuple(parse_matcher(text) for text in matchers)
    if not parsed:
        raise SilenceError("a silence needs at least one matcher (e.g. model_id=credit-v3)")
    if duration <= 0:
        raise SilenceError("a silence needs a positive duration (e.g. 2h)")
    if duration > max_duration:
        raise SilenceError(
            f"duration {duration:g}s exceeds alerting.silences.max_duration ({max_duration:g}s)"
        )
    return Silence(parsed, starts_at, starts_at + duration, created_by, comment)


@dataclass(frozen=True)
class LabelValues:
    """Every value a label can take, and where they come from (``the models in models``)."""

    values: tuple[str, ...]
    where: str


def unmatched(
    matchers: Iterable[Matcher],
    known: Mapping[str, LabelValues],
    label_names: Collection[str] | None = None,
) -> list[str]:
    """One warning per matcher that can match no alert: its label's values are all ``known``
    and it accepts none of them, or (given ``label_names``) no alert has its label and it does
    not accept a missing one. ``attribute=rcae`` is a typo that would otherwise silence nothing.
    """
    warnings = []
    for matcher in matchers:
        if label_names is not None and matcher.name not in label_names:
            if not matcher.matches({}):
                warnings.append(
                    f"matcher {matcher} matches no alert: no alert has a label {matcher.name!r} "
                    f"(labels: {', '.join(sorted(label_names))})"
                )
            continue
        label = known.get(matcher.name)
        if label is None or any(matcher.matches({matcher.name: v}) for v in label.values):
            continue
        listed = ", ".join(label.values) if label.values else "none configured"
        warnings.append(f"matcher {matcher} matches none of {label.where}: {listed}")
    return warnings


def muted(silences: Iterable[Silence], labels: Mapping[str, str], now: float) -> bool:
    return any(silence.mutes(labels, now) for silence in silences)
