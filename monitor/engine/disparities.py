"""Disparities across the groups of one attribute, declared in a table and derived the same way.

A disparity is a base rate (or a pair of rates, for equalized odds) aggregated across groups:

* ``difference`` = ``max_g rate_g − min_g rate_g`` (fairlearn ``method="between_groups"``),
* ``ratio`` = ``min_g rate_g / max_g rate_g`` (undefined when the maximum is 0),

over the groups whose rate is defined. With several rates the worst case is taken (the largest
difference, the smallest ratio), as fairlearn's ``agg="worst_case"``. Fewer than two groups with a
defined rate leave the disparity undefined. Each group's ratio to a reference group is a separate
disparity judged by the four-fifths rule.

Disparities of a statistic of the scores rather than a rate of the confusion counts are declared
in :data:`SCORE_DISPARITIES` and computed from the score histograms
(:mod:`monitor.engine.calibration`); they are judged and named like the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from monitor.engine.results import Mode, Status

Aggregation = Literal["difference", "ratio"]


@dataclass(frozen=True)
class DisparityDefinition:
    """``{base}_{aggregation}`` for each aggregation, computed over ``rates`` (worst case)."""

    base: str
    rates: tuple[str, ...]
    aggregations: tuple[Aggregation, ...]


DISPARITIES: tuple[DisparityDefinition, ...] = (
    DisparityDefinition("demographic_parity", ("selection_rate",), ("difference", "ratio")),
    DisparityDefinition("equalized_odds", ("tpr", "fpr"), ("difference", "ratio")),
    DisparityDefinition("equal_opportunity", ("tpr",), ("difference", "ratio")),
    DisparityDefinition("predictive_parity", ("ppv",), ("difference",)),
    DisparityDefinition("false_negative_rate", ("fnr",), ("difference",)),
    DisparityDefinition("accuracy", ("accuracy",), ("difference",)),
)

#: ``calibration_gap`` = mean score − observed rate of label 1, per group (calibration in the
#: large); its difference across groups says whose risk the scores overstate relative to whose.
SCORE_DISPARITIES: tuple[DisparityDefinition, ...] = (
    DisparityDefinition("calibration", ("calibration_gap",), ("difference",)),
)

REFERENCE_SUFFIX = "_ratio_to_reference"
FOUR_FIFTHS = 0.8
DEFAULT_DIFFERENCE_THRESHOLD = 0.1
DEFAULT_RATIO_THRESHOLD = 0.8


@dataclass(frozen=True)
class DisparityMetric:
    """One generated disparity metric, e.g. ``equalized_odds_ratio``."""

    name: str
    rates: tuple[str, ...]
    aggregation: Aggregation


def _generate(definitions: tuple[DisparityDefinition, ...]) -> tuple[DisparityMetric, ...]:
    return tuple(
        DisparityMetric(f"{definition.base}_{aggregation}", definition.rates, aggregation)
        for definition in definitions
        for aggregation in definition.aggregations
    )


#: The disparities of rates of the confusion counts.
METRICS: tuple[DisparityMetric, ...] = _generate(DISPARITIES)
#: The disparities of statistics of the scores (``calibration_difference``).
SCORE_METRICS: tuple[DisparityMetric, ...] = _generate(SCORE_DISPARITIES)
METRIC_BY_NAME = {metric.name: metric for metric in (*METRICS, *SCORE_METRICS)}


def default_thresholds() -> dict[str, float]:
    """0.1 for every difference, 0.8 for every ratio and for ratios to the reference group."""
    return dict(DEFAULT_THRESHOLDS)


def _default_thresholds() -> dict[str, float]:
    thresholds = {
        metric.name: DEFAULT_DIFFERENCE_THRESHOLD
        if metric.aggregation == "difference"
        else DEFAULT_RATIO_THRESHOLD
        for metric in (*METRICS, *SCORE_METRICS)
    }
    thresholds["selection_rate" + REFERENCE_SUFFIX] = FOUR_FIFTHS
    return thresholds


DEFAULT_THRESHOLDS: Mapping[str, float] = MappingProxyType(_default_thresholds())


def judge(
    value: float | None,
    low: float | None,
    high: float | None,
    threshold: float | None,
    aggregation: Aggregation | Literal["reference"],
    mode: Mode,
) -> Status:
    """Status of one disparity computed over groups with enough data.

    A difference breaches above its threshold, a ratio below it, a ratio to the reference group
    outside ``[threshold, 1 / threshold]`` (the four-fifths rule: 0.8–1.25). In ``confident``
    mode the interval decides: ``breach`` when all of it is beyond the threshold, ``ok`` when
    none of it is, ``undecided`` when it straddles the threshold (or is missing). In ``point``
    mode the value decides (``breach`` or ``ok``). ``not_computable`` when the value is
    undefined (fewer than two groups with enough data).
    """
    if value is None:
        return "not_computable"
    if threshold is None:
        return "ok"
    if mode == "point":
        return "breach" if _beyond(value, threshold, aggregation) else "ok"
    if low is None or high is None:
        return "undecided"
    if aggregation == "reference":
        upper = _upper_reference_bound(threshold)
        if high < threshold or low > upper:
            return "breach"
        return "ok" if threshold <= low and high <= upper else "undecided"
    # the end of the interval nearest to the acceptable side, and the farthest one
    nearest, farthest = (low, high) if aggregation == "difference" else (high, low)
    if _beyond(nearest, threshold, aggregation):
        return "breach"
    return "undecided" if _beyond(farthest, threshold, aggregation) else "ok"


def _upper_reference_bound(threshold: float) -> float:
    return 1.0 / threshold if threshold > 0 else float("inf")


def _beyond(
    value: float, threshold: float, aggregation: Aggregation | Literal["reference"]
) -> bool:
    """Whether ``value`` is on the breaching side of ``threshold``."""
    if aggregation == "difference":
        return value > threshold
    if aggregation == "ratio":
        return value < threshold
    return value < threshold or value > _upper_reference_bound(threshold)
