"""Each group's rate over the reference group's, judged by the four-fifths rule.

The reference group of an attribute is the configured one (``reference_groups``) or, by
default, the *most favoured* group: the highest favourable rate among the groups with enough
predictions (the EEOC convention: each group's selection rate is compared with the highest).
Rates of selection are taken on the favourable outcome: with prediction 0 favourable (a
high-risk flag, a denial) the ratio compares ``1 − selection_rate``, never the adverse rate.
Intervals come from :func:`monitor.engine.intervals.ratio_interval` (the ratio of two independent
proportions); the reference's own ratio is exactly 1.
"""

from __future__ import annotations

import numpy as np

from monitor.engine.config import EngineConfig
from monitor.engine.disparities import REFERENCE_SUFFIX, judge
from monitor.engine.evidence import FAVOURABLE_RATE, compared_counts
from monitor.engine.intervals import ratio_interval
from monitor.engine.rates import divide, to_optional
from monitor.engine.results import Disparity
from monitor.engine.table import GroupTable


def compared_rate(rate: str, favourable: int) -> str:
    """The rate a ratio compares: the favourable rate in place of the selection rate when
    prediction 0 is the favourable outcome."""
    return FAVOURABLE_RATE if rate == "selection_rate" and favourable == 0 else rate


def reference_rows(table: GroupTable, config: EngineConfig, favourable: int) -> list[int | None]:
    """Per attribute, the row of its reference group; None when a configured reference group is
    absent, no group has enough predictions, or the attribute has one group."""
    attributes, names, matrix, segments = (
        table.attributes,
        table.names,
        table.matrix,
        table.segments,
    )
    numerator, trials = compared_counts(matrix, compared_rate("selection_rate", favourable))
    rates = divide(numerator, trials).tolist()
    sizes = trials.tolist()
    minimum = max(config.min_group_size, 1)
    rows: list[int | None] = []
    for attribute, group_names, start in zip(
        attributes, names, segments.starts.tolist(), strict=True
    ):
        if len(group_names) < 2:
            rows.append(None)
        elif attribute in config.reference_groups:
            wanted = config.reference_groups[attribute]
            rows.append(start + group_names.index(wanted) if wanted in group_names else None)
        else:
            candidates = [
                start + local
                for local in range(len(group_names))
                if sizes[start + local] >= minimum
            ]
            # the most favoured: highest favourable rate, then the larger group, then by name
            rows.append(
                min(
                    candidates,
                    key=lambda row: (-rates[row], -sizes[row], group_names[row - start]),
                )
                if candidates
                else None
            )
    return rows


def reference_ratios(
    table: GroupTable, config: EngineConfig, favourable: int
) -> list[list[Disparity]]:
    """Per attribute, each group's ratio to the reference group for every configured rate.

    The reference group gets its own ratio too (exactly 1): every group has a row in every
    evaluation, so a later evaluation of a window that picks another reference replaces each
    group's row instead of leaving the former reference's behind. A ratio involving a group
    with fewer than ``min_group_size`` in the rate's denominator is reported with its value and
    interval, the small group named, and status ``not_computable``.
    Without a reference group (configured but absent, or no group with enough predictions) each
    group gets a ``not_computable`` ratio without a value (the rows a later evaluation with a
    reference replaces).
    """
    attributes, names, matrix, segments = (
        table.attributes,
        table.names,
        table.matrix,
        table.segments,
    )
    result: list[list[Disparity]] = [[] for _ in attributes]
    if not config.reference_rates:
        return result
    references = reference_rows(table, config, favourable)
    minimum = max(config.min_group_size, 1)
    for rate in config.reference_rates:
        metric = rate + REFERENCE_SUFFIX
        compared = compared_rate(rate, favourable)
        threshold = config.threshold(metric)
        numerator, trials = compared_counts(matrix, compared)
        estimate = divide(numerator, trials)
        reference = np.array([row if row is not None else 0 for row in references])
        reference_row = reference[segments.segment]
        ratios = np.full(estimate.shape, np.nan)
        np.divide(estimate, estimate[reference_row], out=ratios, where=estimate[reference_row] > 0)
        low, high = ratio_interval(
            numerator, trials, numerator[reference_row], trials[reference_row], config.ci_level
        )
        ratio_list, lows, highs = to_optional(ratios), to_optional(low), to_optional(high)
        rates, sizes = to_optional(estimate), trials.tolist()
        for position, (attribute, group_names) in enumerate(zip(attributes, names, strict=True)):
            start = int(segments.starts[position])
            ref = references[position]
            if ref is None:
                if len(group_names) >= 2:
                    small_names = tuple(
                        name
                        for local, name in enumerate(group_names)
                        if sizes[start + local] < minimum
                    )
                    result[position].extend(
                        Disparity(
                            attribute=attribute,
                            metric=metric,
                            value=None,
                            ci_low=None,
                            ci_high=None,
                            min_group_n=int(sizes[start + local]),
                            status="not_computable",
                            threshold=threshold,
                            mode=config.mode,
                            group=group,
                            reference_group=config.reference_groups.get(attribute),
                            rate=compared,
                            small_groups=small_names,
                        )
                        for local, group in enumerate(group_names)
                    )
                continue
            reference_name = group_names[ref - start]
            for local, group in enumerate(group_names):
                row = start + local
                small: tuple[str, ...] = ()
                if sizes[ref] < minimum:
                    small = (reference_name,)
                if sizes[row] < minimum and row != ref:
                    small = (*small, group)
                value = ratio_list[row]
                interval_low, interval_high = (lows[row], highs[row]) if value is not None else (
                    None, None
                )  # fmt: skip
                if row == ref and value is not None:  # the reference's own ratio is exactly 1
                    value, interval_low, interval_high = 1.0, 1.0, 1.0
                status = (
                    "not_computable"
                    if small
                    else judge(value, interval_low, interval_high, threshold, "reference",
                               config.mode)
                )  # fmt: skip
                group_rate, reference_rate = rates[row], rates[ref]
                group_higher = (group_rate or 0.0) > (reference_rate or 0.0)
                result[position].append(
                    Disparity(
                        attribute=attribute,
                        metric=metric,
                        value=value,
                        ci_low=interval_low,
                        ci_high=interval_high,
                        min_group_n=min(sizes[row], sizes[ref]),
                        status=status,
                        threshold=threshold,
                        mode=config.mode,
                        group=group,
                        reference_group=reference_name,
                        rate=compared,
                        highest_group=group if group_higher else reference_name,
                        highest_rate=group_rate if group_higher else reference_rate,
                        lowest_group=reference_name if group_higher else group,
                        lowest_rate=reference_rate if group_higher else group_rate,
                        small_groups=small,
                    )
                )
    return result
