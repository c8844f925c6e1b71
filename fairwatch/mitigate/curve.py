"""The trade-off curve: the best objective at each tolerance, from 0 to the unconstrained disparity.

Each point is the exact search's answer at one tolerance: its thresholds, its objective and its
achieved disparity (at most the tolerance, often below it: thresholds move in steps). A point is
*Pareto* when no other point is at least as fair and at least as good with one of the two
strictly better. The chosen point is the answer at the requested tolerance or, with a minimum
accuracy, the fairest Pareto point whose accuracy reaches it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from monitor.engine.thresholds.candidates import Problem
from monitor.engine.thresholds.outcome import Outcome, outcome
from monitor.engine.thresholds.search import search, unconstrained

DEFAULT_CURVE_POINTS = 21


@dataclass(frozen=True)
class CurvePoint:
    """The search's answer at ``tolerance``."""

    tolerance: float
    outcome: Outcome
    pareto: bool = False


def tolerances(largest: float, points: int, extra: Sequence[float] = ()) -> list[float]:
    """``points`` evenly spaced tolerances from 0 to ``largest``, plus ``extra`` values that lie
    inside that range, sorted, without duplicates."""
    grid = np.linspace(0.0, largest, max(points, 2)).tolist() if largest > 0 else [0.0]
    grid.extend(value for value in extra if 0.0 <= value < largest)
    return sorted(set(grid))


def tradeoff_curve(
    problem: Problem, points: int = DEFAULT_CURVE_POINTS, extra: Sequence[float] = ()
) -> tuple[CurvePoint, ...]:
    """The curve from tolerance 0 to the unconstrained choice's disparity (its last point)."""
    free = outcome(problem, unconstrained(problem))
    largest = free.disparity or 0.0
    found = [
        CurvePoint(value, search(problem, value)) for value in tolerances(largest, points, extra)
    ]
    flags = pareto_flags([(p.outcome.disparity, p.outcome.value) for p in found])
    return tuple(
        CurvePoint(point.tolerance, point.outcome, flag)
        for point, flag in zip(found, flags, strict=True)
    )


def pareto_flags(points: Sequence[tuple[float | None, int]]) -> list[bool]:
    """For each ``(disparity, value)``: no other point is at least as fair and as good with one
    strictly better (an undefined disparity is never Pareto)."""
    flags = []
    for disparity, value in points:
        if disparity is None:
            flags.append(False)
            continue
        dominated = any(
            other is not None
            and other <= disparity
            and other_value >= value
            and (other < disparity or other_value > value)
            for other, other_value in points
        )
        flags.append(not dominated)
    return flags


def choose_by_accuracy(
    curve: Sequence[CurvePoint], min_accuracy: float, max_disparity: float | None = None
) -> int | None:
    """The fairest Pareto point with accuracy >= ``min_accuracy`` (and disparity at most
    ``max_disparity`` when given): its position in ``curve``, None if no point qualifies.
    Ties go to the better objective, then to the smaller tolerance."""
    qualifying = [
        (point.outcome.disparity, -point.outcome.value, point.tolerance, position)
        for position, point in enumerate(curve)
        if point.pareto
        and point.outcome.disparity is not None
        and point.outcome.accuracy >= min_accuracy
        and (max_disparity is None or point.outcome.disparity <= max_disparity)
    ]
    return min(qualifying)[3] if qualifying else None


def position_of(curve: Sequence[CurvePoint], tolerance: float) -> int:
    """The point of ``curve`` at ``tolerance``; the last point (the unconstrained choice, which
    every larger tolerance also gives) when ``tolerance`` lies beyond it."""
    for position, point in enumerate(curve):
        if point.tolerance == tolerance:
            return position
    if tolerance >= curve[-1].tolerance:
        return len(curve) - 1
    raise ValueError(f"no point of the curve is at tolerance {tolerance:g}")
