"""Proxy detection: how strongly each feature is associated with each sensitive attribute.

A feature that reveals a sensitive attribute lets a model treat groups differently without
ever seeing the attribute. For every (feature, attribute) pair the audit reports an
association (bias-corrected Cramér's V for a categorical feature, the correlation ratio η for
a numeric one), the normalised mutual information, and the held-out balanced accuracy of a
classifier that predicts the attribute from that feature alone; a pair is flagged as a proxy
when the association or the predictive skill reaches :data:`PROXY_THRESHOLD`. Definitions and
the choice of thresholds: docs/metrics.md, "Proxy features".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from fairwatch.audit.association import (
    contingency,
    correlation_ratio,
    cramers_v,
    held_out_prediction,
    uncertainty_coefficient,
)
from fairwatch.audit.errors import AuditInputError
from fairwatch.audit.feature_encoding import (
    EncodedAttribute,
    EncodedFeature,
    encode_attribute,
    encode_feature,
)
from fairwatch.audit.reader import Rows

#: ``--features all``: every column but the sensitive ones and those the audit itself reads.
ALL_FEATURES = "all"
AUDIT_COLUMNS = frozenset({"score", "prediction", "label", "sensitive"})
#: Association (V or η) or skill at which a feature is flagged as a proxy ("moderate",
#: Cohen's medium effect for V with one degree of freedom) and called "strong".
PROXY_THRESHOLD = 0.3
STRONG_THRESHOLD = 0.5


@dataclass(frozen=True)
class ProxyAssociation:
    """One feature against one sensitive attribute."""

    feature: str
    attribute: str
    kind: str
    measure: str | None  # "cramers_v" or "correlation_ratio": what ``association`` is
    association: float | None
    cramers_v: float | None  # on the levels (a numeric feature's quantile bins)
    correlation_ratio: float | None  # numeric features only
    mutual_information: float | None  # I(X; S) / H(S)
    balanced_accuracy: float | None  # held out (cross-validated)
    chance: float | None
    skill: float | None  # (balanced accuracy − chance) / (1 − chance)
    rows: int
    levels: int
    missing: int
    pooled: int
    proxy: bool
    strength: str  # "strong", "moderate", "weak" or "undefined"
    note: str = ""

    @property
    def score(self) -> float | None:
        """What the flag compares with the threshold: the association or the skill, the larger."""
        return _larger(self.association, self.skill)


def _larger(*values: float | None) -> float | None:
    return max((value for value in values if value is not None), default=None)


@dataclass(frozen=True)
class ProxyReport:
    attributes: tuple[str, ...]
    features: tuple[str, ...]
    associations: tuple[ProxyAssociation, ...]

    def flagged(self) -> list[ProxyAssociation]:
        return [item for item in self.associations if item.proxy]


def select_features(
    rows: Rows, requested: Sequence[str], sensitive_columns: Sequence[str]
) -> tuple[str, ...]:
    """The feature columns: ``["all"]`` → every column but the sensitive ones (and anything
    under ``sensitive.``) and the audit's own (unless the file has a column named ``all``);
    otherwise the names given, which must exist."""
    if ALL_FEATURES in requested and ALL_FEATURES not in rows:
        if len(requested) > 1:
            raise AuditInputError(f"--features: {ALL_FEATURES!r} takes no other column names")
        excluded = set(sensitive_columns) | AUDIT_COLUMNS
        return tuple(
            name
            for name in rows.columns
            if name not in excluded and not name.startswith("sensitive.")
        )
    for name in requested:
        if name not in rows:
            present = ", ".join(list(rows.columns)[:20])
            raise AuditInputError(
                f"--features: no column {name!r} in the file (columns present: {present})"
            )
    return tuple(requested)


def _strength(value: float | None) -> str:
    if value is None:
        return "undefined"
    if value >= STRONG_THRESHOLD:
        return "strong"
    return "moderate" if value >= PROXY_THRESHOLD else "weak"


def associate(feature: EncodedFeature, attribute: EncodedAttribute) -> ProxyAssociation:
    """The measures of one feature against one attribute (rows missing the attribute left out)."""
    present, groups = attribute.present, attribute.groups
    n_groups = len(attribute.group_names)
    levels = feature.levels[present]
    n_levels = len(feature.level_names)
    table = contingency(levels, groups, n_levels, n_groups)
    v = cramers_v(table)
    eta = None
    if feature.values is not None:
        numbers = feature.values[present]
        known = ~np.isnan(numbers)
        eta = correlation_ratio(numbers[known], groups[known], n_groups)
    prediction = held_out_prediction(levels, groups, n_levels, n_groups, attribute.fold)
    numeric = feature.kind == "numeric"
    association = eta if numeric else v
    measure = "correlation_ratio" if numeric else "cramers_v"
    skill = None if prediction is None else prediction.skill
    headline = _larger(association, skill)
    note = feature.note
    if n_groups < 2:
        note = f"{attribute.name} has fewer than two groups"
    return ProxyAssociation(
        feature=feature.name,
        attribute=attribute.name,
        kind=feature.kind,
        measure=None if feature.kind == "constant" else measure,
        association=association,
        cramers_v=v,
        correlation_ratio=eta,
        mutual_information=uncertainty_coefficient(table),
        balanced_accuracy=None if prediction is None else prediction.balanced_accuracy,
        chance=None if prediction is None else prediction.chance,
        skill=skill,
        rows=int(present.sum()),
        levels=n_levels,
        missing=feature.missing,
        pooled=feature.pooled,
        proxy=headline is not None and headline >= PROXY_THRESHOLD,
        strength=_strength(headline),
        note=note,
    )


def find_proxies(
    rows: Rows,
    requested: Sequence[str],
    sensitive: Mapping[str, np.ndarray],
    sensitive_columns: Sequence[str],
) -> ProxyReport:
    """Every requested feature against every attribute in ``sensitive`` (attribute → values),
    sorted by attribute, then strongest first. A feature that is itself one of the attributes
    is not compared with itself."""
    features = select_features(rows, requested, sensitive_columns)
    attributes = [encode_attribute(name, values) for name, values in sensitive.items()]
    results: list[ProxyAssociation] = []
    for name in features:
        encoded = encode_feature(name, rows[name])
        for attribute in attributes:
            if name in (attribute.name, f"sensitive.{attribute.name}"):
                continue
            results.append(associate(encoded, attribute))
    order = {attribute: index for index, attribute in enumerate(sensitive)}
    results.sort(key=lambda item: (order[item.attribute], -_sortable(item.score), item.feature))
    return ProxyReport(tuple(sensitive), features, tuple(results))


def _sortable(score: float | None) -> float:
    return -1.0 if score is None else score
