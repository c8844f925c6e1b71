"""Disparities across the groups of one attribute, declared in a table and derived the same way.

A disparity is a base rate (or a pair of rates, for equalized odds) aggregated across groups:

* ``difference`` = ``max_g rate_g − min_g rate_g`` (fairlearn ``method="between_groups"``),
* ``ratio`` = ``min_g rate_g / max_g rate_g`` (undefined when the maximum is 0),

over the groups whose rate is defined. With several rates the worst case is taken (the largest
difference, the smallest ratio), as fairlearn's ``agg="worst_case"``. Fewer than two groups with a
defined rate leave the disparity undefined. Each group's ratio to a reference group is a separate
disparity judged by the four-fifths rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from monitor.results import Mode, Status

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


METRICS: tuple[DisparityMetric, ...] = tuple(
    DisparityMetric(f"{definition.base}_{aggregation}", definition.rates, aggregation)
    for definition in DISPARITIES
    for aggregation in definition.aggregations
)
METRIC_BY_NAME = {metric.name: metric for metric in METRICS}


def default_thresholds() -> dict[str, float]:
    """0.1 for every difference, 0.8 for every ratio and for ratios to the reference group."""
    return dict(DEFAULT_THRESHOLDS)


def _default_thresholds() -> dict[str, float]:
    thresholds = {
        metric.name: DEFAULT_DIFFERENCE_THRESHOLD
        if metric.aggregation == "difference"
        else DEFAULT_RATIO_THRESHOLD
        for metric in METRICS
    }
    thresholds["selection_rate" + REFERENCE_SUFFIX] = FOUR_FIFTHS
    return thresholds


DEFAULT_THRESHOLDS: Mapping[str, float] = MappingProxyType(_default_thresholds())


def judge(
    value: float | None,
    low: float | None,
    high: float | None,
    min_group_n: int,
    threshold: float | None,
    aggregation: Aggregation | Literal["reference"],
    mode: Mode,
    min_group_size: int,
) -> Status:
    """Status of one disparity.

    ``insufficient_data`` if the value is undefined or ``min_group_n < min_group_size``. A
    difference breaches above its threshold, a ratio below it, a ratio to the reference group
    outside ``[threshold, 1 / threshold]`` (the four-fifths rule: 0.8–1.25). In ``point`` mode the
    value is judged; in ``confident`` mode the whole interval must lie beyond the threshold.
    """
    if value is None or min_group_n < min_group_size:
        return "insufficient_data"
    if threshold is None:
        return "ok"
    if mode == "confident":
        if low is None or high is None:
            return "insufficient_data"
        lowest, highest = low, high
    else:
        lowest = highest = value
    if aggregation == "difference":
        return "breach" if lowest > threshold else "ok"
    if aggregation == "ratio":
        return "breach" if highest < threshold else "ok"
    upper = 1.0 / threshold if threshold > 0 else float("inf")
    return "breach" if highest < threshold or lowest > upper else "ok"
