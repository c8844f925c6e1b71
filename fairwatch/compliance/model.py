"""What a compliance report says, as plain frozen values (:class:`Report`).

:mod:`fairwatch.compliance.gather` builds it from the stores; :mod:`~fairwatch.compliance.
render_json` and :mod:`~fairwatch.compliance.render_html` only present it. Everything is in a
fixed order (models, attributes, windows, groups and metrics sorted), so that the same stored
data always give the same report. Times are epoch seconds (UTC); counts ``int``; an undefined
value is ``None``, never 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fairwatch.compliance.period import Period

if TYPE_CHECKING:
    from alerting.config import RuleConfig

Interval = tuple[float, float]


@dataclass(frozen=True)
class GroupVerdict:
    """One group in one window: its counts, its defined rates with their intervals."""

    group: str
    counts: dict[str, int]
    rates: dict[str, float]
    intervals: dict[str, Interval]
    label_coverage: float | None = None


@dataclass(frozen=True)
class DisparityVerdict:
    """One disparity of one window, as the engine judged it (``group``: a group's ratio to the
    reference group)."""

    metric: str
    group: str | None
    value: float | None
    ci: Interval | None
    threshold: float | None
    status: str
    mode: str
    details: dict[str, Any] = field(default_factory=dict)  # extremes, reference, small groups


@dataclass(frozen=True)
class WindowVerdict:
    """Every result of one window that ended in the period. ``closed``: its end was behind the
    pipeline's watermark when the report was made (``None``: no watermark stored)."""

    window_start: float
    window_end: float
    closed: bool | None
    groups: tuple[GroupVerdict, ...]
    disparities: tuple[DisparityVerdict, ...]


@dataclass(frozen=True)
class BreachRun:
    """Consecutive windows in breach of one metric (per group for ratios to the reference)."""

    group: str | None
    first_window_end: float
    last_window_end: float
    windows: int
    worst_value: float | None
    worst_window_end: float


@dataclass(frozen=True)
class MetricSummary:
    """One metric over the period: windows by status, the worst value and the breach runs."""

    metric: str
    threshold: float | None
    windows: int
    statuses: dict[str, int]
    worst_value: float | None
    worst_ci: Interval | None
    worst_window_end: float | None
    worst_group: str | None
    breach_runs: tuple[BreachRun, ...]


@dataclass(frozen=True)
class Coverage:
    """One group's totals over non-overlapping windows that tile (part of) the period."""

    group: str
    n: int
    n_labeled: int
    predicted_positive: int

    @property
    def label_coverage(self) -> float | None:
        return self.n_labeled / self.n if self.n else None

    @property
    def selection_rate(self) -> float | None:
        return self.predicted_positive / self.n if self.n else None


@dataclass(frozen=True)
class CoverageSpan:
    """What :class:`Coverage` counts over: ``windows`` non-overlapping windows, ``[start, end)``."""

    start: float | None
    end: float | None
    windows: int
    groups: tuple[Coverage, ...]


@dataclass(frozen=True)
class WindowSeries:
    """One attribute in one window specification (``1h``, ``1d/1h``) over the period."""

    window: str
    size: float
    step: float
    verdicts: tuple[WindowVerdict, ...]
    summaries: tuple[MetricSummary, ...]
    coverage: CoverageSpan


@dataclass(frozen=True)
class AttributeSection:
    attribute: str
    series: tuple[WindowSeries, ...]


@dataclass(frozen=True)
class AlertRecord:
    """One alert episode that fired before the period's end and had not resolved before its
    start. ``silenced_by``: the silences that muted it while it fired."""

    rule: str
    severity: str
    fingerprint: str
    kind: str
    attribute: str
    metric: str
    window: str
    group: str | None
    fired_at: float
    resolved_at: float | None
    value_at_firing: float | None
    ci_at_firing: Interval | None
    window_end_at_firing: float | None
    silenced_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelSection:
    model_id: str
    attributes: tuple[AttributeSection, ...]
    alerts: tuple[AlertRecord, ...]


@dataclass(frozen=True)
class SilenceRecord:
    """A silence in force during (part of) the period: who created it, why, what it matched;
    ``muted``: fingerprints of the reported alerts it muted."""

    id: str
    created_by: str
    comment: str
    matchers: tuple[str, ...]
    starts_at: float
    ends_at: float
    muted: tuple[str, ...]


@dataclass(frozen=True)
class CountBy:
    """A counter's increase over the period by one of its labels (``key``: the label value)."""

    key: str
    count: int


@dataclass(frozen=True)
class DataQuality:
    """The pipeline's counters over the period (processing time), summed over restarts."""

    consumed: tuple[CountBy, ...]  # by topic
    rejected: tuple[tuple[str, str, int], ...]  # (topic, reason, count)
    dead_lettered: int
    late: tuple[CountBy, ...]  # by window
    duplicates: tuple[CountBy, ...]  # by kind
    labels_orphaned: int
    predictions_expired_unlabeled: int
    incarnations: int  # process runs that reported during the period


@dataclass(frozen=True)
class RuleSummary:
    name: str
    condition: str
    clear: str
    for_: str
    severity: str


@dataclass(frozen=True)
class ConfigInForce:
    """The configuration the report was made with: its hash and what a reader needs of it."""

    sha256: str
    windows: tuple[str, ...]
    allowed_lateness: float
    engine: dict[str, Any]
    rules: tuple[RuleSummary, ...]
    normalised: dict[str, Any]
    rule_configs: tuple[RuleConfig, ...] = ()  # what the figures need of the rules


@dataclass(frozen=True)
class Report:
    period: Period
    version: str
    source: str  # the sink kind: embedded or influxdb
    config: ConfigInForce
    models: tuple[ModelSection, ...]
    silences: tuple[SilenceRecord, ...]
    data_quality: DataQuality
    watermark: float | None  # event time the pipeline had reached, at most the period's end
    model_filter: str | None = None

    @property
    def subject(self) -> str:
        """The model reported, or ``all`` (file names)."""
        return self.model_filter or "all"
