"""The proxy-feature section of an audit in each output form: JSON, terminal table, HTML
(its heat maps are in :mod:`fairwatch.audit.plot_proxies`)."""

from __future__ import annotations

from dataclasses import asdict
from html import escape
from typing import TYPE_CHECKING, Any

from fairwatch.audit.association import FOLDS
from fairwatch.audit.feature_encoding import LEAST_LEVEL_ROWS, MOST_LEVELS, NUMERIC_BINS
from fairwatch.audit.proxies import (
    PROXY_THRESHOLD,
    STRONG_THRESHOLD,
    ProxyAssociation,
    ProxyReport,
)

if TYPE_CHECKING:
    from rich.table import Table

MEASURE_TEXT = {"cramers_v": "V", "correlation_ratio": "η"}
STRENGTH_STYLE = {"strong": "bold red", "moderate": "yellow"}
STRENGTH_BADGE = {"strong": "breach", "moderate": "undecided"}


def proxies_dict(report: ProxyReport) -> dict[str, Any]:
    """The JSON form: thresholds, then one entry per (feature, attribute) pair."""
    return {
        "attributes": list(report.attributes),
        "features": list(report.features),
        "thresholds": {
            "proxy": PROXY_THRESHOLD,
            "strong": STRONG_THRESHOLD,
            "folds": FOLDS,
            "most_levels": MOST_LEVELS,
            "least_level_rows": LEAST_LEVEL_ROWS,
            "numeric_bins": NUMERIC_BINS,
        },
        "flagged": [
            {"feature": item.feature, "attribute": item.attribute} for item in report.flagged()
        ],
        "associations": [{**asdict(item), "score": item.score} for item in report.associations],
    }


def number(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _association_text(item: ProxyAssociation) -> str:
    if item.association is None or item.measure is None:
        return "—"
    return f"{MEASURE_TEXT[item.measure]} {item.association:.3f}"


def _accuracy_text(item: ProxyAssociation) -> str:
    if item.balanced_accuracy is None or item.chance is None:
        return "—"
    return f"{item.balanced_accuracy:.3f} (chance {item.chance:.2f})"


def _details(item: ProxyAssociation) -> str:
    unit = "bin" if item.kind == "numeric" else "level"
    parts = [f"{item.levels} {unit}{'' if item.levels == 1 else 's'}"]
    if item.missing:
        parts.append(f"{item.missing:,} missing")
    if item.pooled:
        parts.append(f"{item.pooled:,} rare pooled")
    if item.note:
        parts.append(item.note)
    return "; ".join(parts)


def proxies_table(report: ProxyReport) -> Table:
    """The terminal form: one row per pair, strongest first within each attribute."""
    from rich.table import Table  # not imported on the JSON path: start-up time
    from rich.text import Text

    table = Table(
        title=f"proxy features (flagged at association or skill ≥ {PROXY_THRESHOLD:g})",
        title_justify="left",
        title_style="bold",
    )
    for heading, justify in (
        ("attribute", "left"),
        ("feature", "left"),
        ("kind", "left"),
        ("association", "right"),
        ("mutual info", "right"),
        ("held-out balanced accuracy", "right"),
        ("skill", "right"),
        ("proxy", "left"),
        ("details", "left"),
    ):
        table.add_column(heading, justify=justify)  # type: ignore[arg-type]
    for item in report.associations:
        verdict = Text(item.strength if item.proxy else "—", STRENGTH_STYLE.get(item.strength, ""))
        table.add_row(
            item.attribute,
            item.feature,
            item.kind,
            _association_text(item),
            number(item.mutual_information),
            _accuracy_text(item),
            number(item.skill),
            verdict,
            Text(_details(item), style="dim"),
        )
    return table


def _row(item: ProxyAssociation) -> str:
    verdict = '<span class="na">—</span>'
    if item.proxy:
        verdict = f'<span class="badge {STRENGTH_BADGE[item.strength]}">{item.strength}</span>'
    return (
        f'<tr><td class="text">{escape(item.attribute)}</td>'
        f'<td class="text">{escape(item.feature)}</td><td class="text">{item.kind}</td>'
        f"<td>{escape(_association_text(item))}</td><td>{number(item.mutual_information)}</td>"
        f"<td>{escape(_accuracy_text(item))}</td><td>{number(item.skill)}</td>"
        f'<td class="text">{verdict}</td><td class="text small">{escape(_details(item))}</td></tr>'
    )


def proxies_section(report: ProxyReport | None) -> str:
    """The HTML section (empty without ``--features``): heat maps, the rule, the table."""
    if report is None:
        return ""
    from fairwatch.audit.plot_proxies import proxies_figure  # matplotlib: HTML only

    flagged = report.flagged()
    summary = ", ".join(f"{escape(i.feature)} → {escape(i.attribute)}" for i in flagged) or "none"
    figure = proxies_figure(report)
    parts = [
        "<h2>Proxy features</h2>",
        f'<p class="note">Flagged ({len(flagged)}): {summary}.</p>',
        f'<div class="figure">{figure}</div>' if figure else "",
        '<p class="note">Association: bias-corrected Cramér\'s V (Bergsma 2013) for a '
        "categorical feature, the correlation ratio η for a numeric one (0 none, 1 the feature "
        "separates the groups). Mutual information is normalised by the attribute's entropy "
        "(the share of its uncertainty the feature removes). Balanced accuracy is that of a "
        "classifier predicting the attribute from the feature alone, measured on rows it was "
        f"not fitted on ({FOLDS}-fold cross-validation); skill rescales it to 0 at chance and "
        f"1 at perfect. A pair is flagged (framed) when the association or the skill reaches "
        f"{PROXY_THRESHOLD:g} ({STRONG_THRESHOLD:g}: strong). Association is not causation, and "
        "a proxy may still be a legitimate feature: the flag asks for a justification, it is "
        "not a verdict. Definitions: docs/metrics.md, “Proxy features”.</p>",
        '<table><thead><tr><th class="text">Attribute</th><th class="text">Feature</th>'
        '<th class="text">Kind</th><th>Association</th><th>Mutual information</th>'
        "<th>Held-out balanced accuracy</th><th>Skill</th>"
        '<th class="text">Proxy</th><th class="text">Details</th></tr></thead>'
        f"<tbody>{''.join(_row(item) for item in report.associations)}</tbody></table>",
    ]
    return "\n".join(part for part in parts if part)
