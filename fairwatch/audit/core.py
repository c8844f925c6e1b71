"""``fairwatch audit``'s logic: count a file's rows per group and evaluate them with the engine.

The audit is one window holding every row of the file; the numbers are the daemon's numbers
(same counting, same engine).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fairwatch.audit.columns import AuditColumns, attribute_column, extract_columns
from fairwatch.audit.errors import AuditInputError
from fairwatch.audit.proxies import ProxyReport, find_proxies
from fairwatch.audit.reader import Rows, read_rows
from monitor.engine.counts import DEFAULT_SCORE_BINS, GroupCounts, count_batch
from monitor.engine.evaluate import EngineConfig, evaluate
from monitor.engine.groups import group_codes, intersection_name
from monitor.engine.results import WindowEvaluation


@dataclass(frozen=True)
class AuditOptions:
    """What to audit and how; ``engine`` carries gates, thresholds and reference groups."""

    attributes: tuple[str, ...]
    intersections: tuple[tuple[str, ...], ...] = ()
    threshold: float = 0.5
    engine: EngineConfig = field(default_factory=EngineConfig)
    input_format: str | None = None
    score_bins: int = DEFAULT_SCORE_BINS
    model_id: str = "audit"
    features: tuple[str, ...] = ()  # proxy detection: feature columns, or ("all",)


@dataclass(frozen=True)
class AuditReport:
    """The evaluation of one file plus what a reader needs to trust it."""

    source: str
    rows: int
    labeled_rows: int
    scored: bool
    evaluation: WindowEvaluation
    options: AuditOptions
    proxies: ProxyReport | None = None  # with ``features``: each feature against each attribute


def run_audit(path: str | Path, options: AuditOptions) -> AuditReport:
    """Read ``path`` and audit it; bad input raises :class:`AuditInputError`."""
    rows = read_rows(path, options.input_format)
    return audit_rows(rows, options, str(path))


def audit_rows(rows: Rows, options: AuditOptions, source: str = "") -> AuditReport:
    if not options.attributes and not options.intersections:
        raise AuditInputError("name at least one sensitive attribute (--sensitive sex,race)")
    needed = list(
        dict.fromkeys([*options.attributes, *(a for i in options.intersections for a in i)])
    )
    columns = extract_columns(rows, needed, options.threshold)
    counts = count_groups(columns, options.attributes, options.intersections, options.score_bins)
    evaluation = evaluate(options.model_id, "all", 0.0, 0.0, counts, options.engine)
    proxies = None
    if options.features:
        sensitive_columns = [attribute_column(rows, a) or a for a in needed]
        attributes = {a: columns.sensitive[a] for a in options.attributes}
        proxies = find_proxies(rows, options.features, attributes, sensitive_columns)
    return AuditReport(
        source=source,
        rows=rows.length,
        labeled_rows=int(np.count_nonzero(columns.label >= 0)),
        scored=columns.score is not None,
        evaluation=evaluation,
        options=options,
        proxies=proxies,
    )


def count_groups(
    columns: AuditColumns,
    attributes: Sequence[str],
    intersections: Sequence[Sequence[str]],
    score_bins: int = DEFAULT_SCORE_BINS,
) -> dict[tuple[str, str], GroupCounts]:
    """Per-(attribute, group) counts of every row (vectorized, one bincount per attribute)."""
    counts: dict[tuple[str, str], GroupCounts] = {}
    for name, codes, names in group_codes(columns.sensitive, attributes, intersections):
        matrix = count_batch(
            codes, len(names), columns.prediction, columns.label, columns.score,
            score_bins=score_bins,
        )  # fmt: skip
        for index, group in enumerate(names):
            counts[(name, group)] = GroupCounts.from_row(matrix[index])
    return counts


def parse_intersections(values: Sequence[str]) -> tuple[tuple[str, ...], ...]:
    """``["sex,race", "age,sex"]`` → ``(("race", "sex"), ("age", "sex"))`` (sorted, unique)."""
    result: dict[str, tuple[str, ...]] = {}
    for value in values:
        members = tuple(sorted({part.strip() for part in value.split(",") if part.strip()}))
        if len(members) < 2:
            raise AuditInputError(f"--intersect needs two or more attributes, got {value!r}")
        result.setdefault(intersection_name(members), members)
    return tuple(result.values())
