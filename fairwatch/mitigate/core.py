"""``fairwatch mitigate``'s logic: per-group thresholds for a file of scores, judged by the engine.

The file is read and validated as ``fairwatch audit`` reads it (:mod:`fairwatch.audit.reader`,
:mod:`fairwatch.audit.columns`); the thresholds come from the exact search
(:mod:`monitor.engine.thresholds.search`), the trade-off curve from :mod:`fairwatch.mitigate.curve`.
The before and after figures are the engine's (:func:`monitor.engine.evaluate.evaluate` on the
counts of the decisions ``score >= threshold``), so they carry its intervals and statuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np

from fairwatch.audit.columns import AuditColumns, attribute_column, extract_columns
from fairwatch.audit.core import count_groups
from fairwatch.audit.errors import AuditInputError
from fairwatch.audit.reader import Rows, read_rows
from fairwatch.mitigate.curve import (
    DEFAULT_CURVE_POINTS,
    CurvePoint,
    choose_by_accuracy,
    position_of,
    tradeoff_curve,
)
from fairwatch.mitigate.errors import InfeasibleError
from fairwatch.mitigate.reference import Reference
from monitor.engine.disparities import DEFAULT_DIFFERENCE_THRESHOLD
from monitor.engine.evaluate import EngineConfig, evaluate
from monitor.engine.groups import group_codes
from monitor.engine.results import RATE_LABELS, WindowEvaluation
from monitor.engine.thresholds.candidates import (
    CONSTRAINTS,
    OBJECTIVES,
    Problem,
    group_candidates,
)
from monitor.engine.thresholds.outcome import Outcome, outcome

#: The default tolerance: the threshold of the engine's (and the alert rules') differences.
DEFAULT_TOLERANCE = DEFAULT_DIFFERENCE_THRESHOLD
MODEL_ID = "mitigate"


@dataclass(frozen=True)
class MitigationOptions:
    """What to mitigate and how. ``tolerance`` None means :data:`DEFAULT_TOLERANCE`; given, it
    also bounds the disparity of a point chosen by ``min_accuracy``."""

    attributes: tuple[str, ...]
    constraint: str = "demographic_parity"
    objective: str = "accuracy"
    tolerance: float | None = None
    min_accuracy: float | None = None
    threshold: float = 0.5
    min_group_size: int = 30
    ci_level: float = 0.95
    curve_points: int = DEFAULT_CURVE_POINTS
    reference: bool = True
    input_format: str | None = None
    score_bins: int = 10

    @property
    def effective_tolerance(self) -> float:
        return DEFAULT_TOLERANCE if self.tolerance is None else self.tolerance

    def check(self) -> None:
        """Raise ValueError naming the option that is out of range."""
        if not self.attributes:
            raise ValueError("name the sensitive attribute (--sensitive sex)")
        if self.constraint not in CONSTRAINTS:
            raise ValueError(f"--constraint must be one of {', '.join(CONSTRAINTS)}")
        if self.objective not in OBJECTIVES:
            raise ValueError(f"--objective must be one of {', '.join(OBJECTIVES)}")
        if not 0.0 <= self.effective_tolerance <= 1.0:
            raise ValueError(f"--tolerance must lie in [0, 1], got {self.effective_tolerance:g}")
        if self.min_accuracy is not None and not 0.0 <= self.min_accuracy <= 1.0:
            raise ValueError(f"--min-accuracy must lie in [0, 1], got {self.min_accuracy:g}")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"--threshold must lie in [0, 1], got {self.threshold:g}")
        if self.curve_points < 2:
            raise ValueError(f"--curve-points must be at least 2, got {self.curve_points}")


@dataclass(frozen=True)
class Decisions:
    """One set of decisions (before: the baseline threshold; after: the chosen thresholds)."""

    outcome: Outcome
    evaluation: WindowEvaluation


@dataclass(frozen=True)
class MitigationReport:
    """Everything the renderers show. ``curve[chosen]`` is the chosen point; ``after`` its
    decisions. ``attribute`` is the engine's name (``race&sex`` for an intersection)."""

    source: str
    rows: int
    labeled_rows: int
    attribute: str
    options: MitigationOptions
    engine: EngineConfig
    problem: Problem
    before: Decisions
    after: Decisions
    curve: tuple[CurvePoint, ...]
    chosen: int
    chosen_by: Literal["tolerance", "min_accuracy"]
    reference: Reference | None

    @property
    def thresholds(self) -> dict[str, float]:
        """Each group's threshold after mitigation (``score >= threshold`` → 1)."""
        names = [group.name for group in self.problem.groups]
        return dict(zip(names, self.after.outcome.thresholds, strict=True))


def run_mitigation(path: str | Path, options: MitigationOptions) -> MitigationReport:
    """Read ``path`` and mitigate; bad input raises :class:`AuditInputError`, an unreachable
    ``min_accuracy`` :class:`InfeasibleError`."""
    options.check()
    rows = read_rows(path, options.input_format)
    return mitigate_rows(rows, options, str(path))


def mitigate_rows(rows: Rows, options: MitigationOptions, source: str = "") -> MitigationReport:
    options.check()
    columns = _columns(rows, options.attributes)
    assert columns.score is not None
    score, label = columns.score, columns.label
    attribute, codes, names = _sorted_groups(
        *group_codes(*_grouping(columns, options.attributes))[0]
    )
    problem = Problem(
        groups=group_candidates(codes, names, score, label),
        constraint=options.constraint,
        objective=options.objective,
        min_group_size=options.min_group_size,
        baseline=options.threshold,
        positives=int(np.count_nonzero(label == 1)),
        negatives=int(np.count_nonzero(label == 0)),
    )
    _check_comparable(problem, attribute)
    tolerance = options.effective_tolerance
    curve = tradeoff_curve(problem, options.curve_points, extra=[tolerance])
    chosen_by: Literal["tolerance", "min_accuracy"] = "tolerance"
    if options.min_accuracy is None:
        chosen = position_of(curve, tolerance)
    else:
        chosen_by = "min_accuracy"
        found = choose_by_accuracy(curve, options.min_accuracy, options.tolerance)
        if found is None:
            raise InfeasibleError(_infeasible(curve, options))
        chosen = found
    engine = EngineConfig(
        min_group_size=options.min_group_size,
        ci_level=options.ci_level,
        thresholds={problem.metric: tolerance},
    )
    reference = None
    if options.reference:
        from fairwatch.mitigate.reference import fairlearn_reference

        at = curve[chosen].tolerance if chosen_by == "min_accuracy" else tolerance
        reference = fairlearn_reference(problem, codes, score, label, at)

    def decisions(result: Outcome) -> Decisions:
        prediction = (score >= np.asarray(result.thresholds)[codes]).astype(np.int8)
        evaluation = evaluate_decisions(
            replace(columns, prediction=prediction), options.attributes, engine, options.score_bins
        )
        return Decisions(result, evaluation)

    return MitigationReport(
        source=source,
        rows=rows.length,
        labeled_rows=int(np.count_nonzero(label >= 0)),
        attribute=attribute,
        options=options,
        engine=engine,
        problem=problem,
        before=decisions(outcome(problem, problem.baseline_indices())),
        after=decisions(curve[chosen].outcome),
        curve=curve,
        chosen=chosen,
        chosen_by=chosen_by,
        reference=reference,
    )


def evaluate_decisions(
    columns: AuditColumns, attributes: Sequence[str], engine: EngineConfig, score_bins: int = 10
) -> WindowEvaluation:
    """The engine's evaluation of ``columns.prediction`` over the groups of ``attributes`` (one
    attribute, or the intersection of several): the audit's counting, one window."""
    singles, intersections = _grouping(columns, attributes)[1:]
    counts = count_groups(columns, singles, intersections, score_bins)
    return evaluate(MODEL_ID, "all", 0.0, 0.0, counts, engine)


def _grouping(
    columns: AuditColumns, attributes: Sequence[str]
) -> tuple[dict[str, np.ndarray], tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """``group_codes`` arguments: one attribute, or the intersection of several."""
    if len(attributes) == 1:
        return columns.sensitive, (attributes[0],), ()
    return columns.sensitive, (), (tuple(sorted(attributes)),)


def _sorted_groups(
    attribute: str, codes: np.ndarray, names: list[str]
) -> tuple[str, np.ndarray, list[str]]:
    """Groups in name order (the engine's order)."""
    order = sorted(range(len(names)), key=names.__getitem__)
    position = np.empty(len(names), dtype=np.int64)
    position[order] = np.arange(len(names))
    return attribute, position[codes], [names[index] for index in order]


def _columns(rows: Rows, attributes: Sequence[str]) -> AuditColumns:
    """The audit's validation, with the messages of a file that must hold scores and labels."""
    present = ", ".join(list(rows.columns)[:12])
    for name, what in (("score", "each row's score in [0, 1]"), ("label", "the outcome, 0/1")):
        if name not in rows:
            raise AuditInputError(
                f"missing column {name!r}: fairwatch mitigate needs {what} (columns present: "
                f"{present})"
            )
    missing = [name for name in attributes if attribute_column(rows, name) is None]
    if missing:
        raise AuditInputError(
            f"missing sensitive attribute column(s): {', '.join(missing)} (columns present: "
            f"{present})"
        )
    # the decisions are the thresholds' own: a 'prediction' column is not read
    decided = dict(rows.columns, prediction=np.zeros(rows.length, dtype=np.int8))
    columns = extract_columns(Rows(decided, rows.length), list(attributes))
    assert columns.score is not None
    empty = int(np.count_nonzero(np.isnan(columns.score)))
    if empty:
        raise AuditInputError(f"column 'score' has {empty} empty value(s); every row needs one")
    for value, word in ((1, "positive (1)"), (0, "negative (0)")):
        if not np.any(columns.label == value):
            raise AuditInputError(
                f"column 'label' has no {word} row: accuracy and the trade-off need both labels"
            )
    return columns


def _check_comparable(problem: Problem, attribute: str) -> None:
    """At least two groups must take part in each of the constraint's rates."""
    for rate in problem.rates:
        taking_part = int(problem.taking_part(rate).sum())
        if taking_part < 2:
            raise AuditInputError(
                f"attribute {attribute!r}: {taking_part} group(s) have at least "
                f"{problem.min_group_size} rows in the {RATE_LABELS.get(rate, rate)}'s "
                "denominator; two are needed to compare (lower --min-group-size?)"
            )


def _infeasible(curve: Sequence[CurvePoint], options: MitigationOptions) -> str:
    pareto = [
        point
        for point in curve
        if point.pareto
        and (options.tolerance is None or (point.outcome.disparity or 0.0) <= options.tolerance)
    ] or list(curve)
    best = max(pareto, key=lambda point: (point.outcome.accuracy, -point.tolerance))
    limit = "" if options.tolerance is None else f" within tolerance {options.tolerance:g}"
    disparity = best.outcome.disparity
    shown = "—" if disparity is None else f"{disparity:.3f}"
    return (
        f"no Pareto point of the trade-off curve{limit} reaches accuracy "
        f"{options.min_accuracy:g}; the most accurate is {best.outcome.accuracy:.4f} at "
        f"disparity {shown}"
    )
