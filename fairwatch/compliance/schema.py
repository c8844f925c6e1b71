"""The JSON report's schema (``fairwatch.report/1``) as pydantic models: :func:`validate` checks
a document (no unknown key, every type), :func:`json_schema` gives the JSON Schema of it::

    python -c "import json; from fairwatch.compliance.schema import json_schema; \\
               print(json.dumps(json_schema(), indent=2))"

Times are RFC 3339 UTC text, floats have at most 6 decimals, ``null`` is an undefined value.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Status = Literal["breach", "undecided", "ok", "not_computable"]
Time = str  # RFC 3339, UTC (``2026-01-05T10:26:00Z``)
Interval = tuple[float, float]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Period(_Strict):
    from_: Time = Field(alias="from")
    to: Time


class Rule(_Strict):
    name: str
    condition: str
    resolves_when: str
    held_for: str
    severity: str


class Configuration(_Strict):
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    windows: list[str]
    allowed_lateness_seconds: float
    engine: dict[str, Any]
    rules: list[Rule]
    normalised: dict[str, Any]


class Group(_Strict):
    model_config = ConfigDict(extra="allow", frozen=True)  # the counts: n, n_labeled, tp, ...
    group: str
    label_coverage: float | None
    rates: dict[str, float]


class Disparity(_Strict):
    metric: str
    group: str | None
    value: float | None
    ci: Interval | None
    threshold: float | None
    status: Status
    mode: str
    rate: str | None = None
    highest_group: str | None = None
    highest_rate: float | None = None
    lowest_group: str | None = None
    lowest_rate: float | None = None
    reference_group: str | None = None
    min_group_n: int | None = None


class Verdict(_Strict):
    window_start: Time
    window_end: Time
    closed: bool | None
    groups: list[Group]
    disparities: list[Disparity]


class Worst(_Strict):
    value: float | None
    ci: Interval | None
    window_end: Time | None
    group: str | None


class BreachRun(_Strict):
    group: str | None
    first_window_end: Time
    last_window_end: Time
    windows: int
    worst_value: float | None
    worst_window_end: Time


class Summary(_Strict):
    metric: str
    threshold: float | None
    windows: int
    statuses: dict[Status, int]
    worst: Worst
    breach_runs: list[BreachRun]


class CoverageGroup(_Strict):
    group: str
    n: int
    n_labeled: int
    label_coverage: float | None
    predicted_positive: int
    selection_rate: float | None


class Coverage(_Strict):
    from_: Time | None = Field(alias="from")
    to: Time | None
    windows: int
    groups: list[CoverageGroup]


class Series(_Strict):
    window: str
    size_seconds: float
    step_seconds: float
    windows_in_period: int
    summary: list[Summary]
    label_coverage: Coverage
    verdicts: list[Verdict]


class Attribute(_Strict):
    attribute: str
    windows: list[Series]


class Alert(_Strict):
    rule: str
    severity: str
    fingerprint: str
    kind: str
    attribute: str
    metric: str
    window: str
    group: str | None
    fired_at: Time
    resolved_at: Time | None
    value_at_firing: float | None
    ci_at_firing: Interval | None
    window_end_at_firing: Time | None
    silenced_by: list[str]


class Model(_Strict):
    model_id: str
    attributes: list[Attribute]
    alerts: list[Alert]


class Silence(_Strict):
    id: str
    created_by: str
    comment: str
    matchers: list[str]
    starts_at: Time
    ends_at: Time
    muted: list[str]


class Rejected(_Strict):
    topic: str
    reason: str
    count: int


class DataQuality(_Strict):
    consumed: dict[str, int]
    rejected: list[Rejected]
    rejected_total: int
    dead_lettered: int
    late: dict[str, int]
    duplicates: dict[str, int]
    labels_orphaned: int
    predictions_expired_unlabeled: int
    incarnations: int


class ReportDocument(_Strict):
    """A JSON report."""

    schema_: Literal["fairwatch.report/1"] = Field(alias="schema")
    version: str
    period: Period
    model: str | None
    source: Literal["embedded", "influxdb"]
    watermark: Time | None
    configuration: Configuration
    models: list[Model]
    silences: list[Silence]
    data_quality: DataQuality


def validate(document: Any) -> ReportDocument:
    """``document`` (parsed JSON) checked against the schema (``pydantic.ValidationError``)."""
    return ReportDocument.model_validate(document, strict=False)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a report."""
    return ReportDocument.model_json_schema(by_alias=True)
