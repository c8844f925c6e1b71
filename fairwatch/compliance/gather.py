"""Everything a report says, gathered from the metrics sink and the alert store: :func:`gather`.

Nothing here reads a clock: the report is a function of the period, the configuration and the
stored data, so the same inputs give the same report.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from alerting.config import AlertingConfig, RuleConfig, parse_alerting_config
from alerting.store import AlertStore
from fairwatch.compliance.alerts import alert_records
from fairwatch.compliance.confighash import config_hash, normalised
from fairwatch.compliance.model import (
    AlertRecord,
    ConfigInForce,
    ModelSection,
    Report,
    RuleSummary,
    SilenceRecord,
)
from fairwatch.compliance.period import Period
from fairwatch.compliance.quality import data_quality
from fairwatch.compliance.sources import MetricsReader, Row
from fairwatch.compliance.verdicts import attribute_sections
from monitor import __version__
from monitor.config import MonitorConfig, format_duration

#: The engine settings a reader needs to read the verdicts.
ENGINE_SETTINGS = ("mode", "ci_level", "min_group_size", "thresholds", "reference_groups")


def gather(
    config: MonitorConfig,
    reader: MetricsReader,
    store: AlertStore | None,
    period: Period,
    model: str | None = None,
) -> Report:
    """The report of ``period`` (of ``model``, or of every model with data or alerts in it)."""
    settings = parse_alerting_config(config.alerting)
    # once event time has passed the period, how much further it went says nothing about it
    # (and would make the report of a finished period change every time it is made)
    reached = reader.watermark()
    watermark = None if reached is None else min(reached, period.end)
    groups = _by_model(reader.groups(model, period.start, period.end))
    disparities = _by_model(reader.disparities(model, period.start, period.end))
    alerts: list[tuple[str, AlertRecord]] = []
    silences: list[SilenceRecord] = []
    if store is not None:
        alerts, silences = alert_records(store, settings, period)
    alerts = [(model_id, record) for model_id, record in alerts if model in (None, model_id)]
    model_ids = sorted({*groups, *disparities, *(model_id for model_id, _record in alerts)})
    sections = tuple(
        ModelSection(
            model_id=model_id,
            attributes=attribute_sections(
                groups.get(model_id, []),
                disparities.get(model_id, []),
                period,
                config.windows,
                watermark,
            ),
            alerts=tuple(record for owner, record in alerts if owner == model_id),
        )
        for model_id in model_ids
    )
    return Report(
        period=period,
        version=__version__,
        source=reader.kind,
        config=config_in_force(config, settings),
        models=sections,
        silences=tuple(silences),
        data_quality=data_quality(reader, period),
        watermark=watermark,
        model_filter=model,
    )


def _by_model(rows: Iterable[Row]) -> dict[str, list[Row]]:
    result: dict[str, list[Row]] = {}
    for row in rows:
        result.setdefault(str(row["model_id"]), []).append(row)
    return result


def config_in_force(config: MonitorConfig, settings: AlertingConfig) -> ConfigInForce:
    """The configuration's hash and the settings a reader of the report needs."""
    engine: dict[str, Any] = {
        name: value
        for name, value in dataclasses.asdict(config.engine).items()
        if name in ENGINE_SETTINGS
    }
    return ConfigInForce(
        sha256=config_hash(config),
        windows=tuple(spec.name for spec in config.windows),
        allowed_lateness=config.allowed_lateness,
        engine=engine,
        rules=tuple(rule_summary(rule) for rule in settings.rules),
        normalised=normalised(config),
        rule_configs=tuple(settings.rules),
    )


def rule_summary(rule: RuleConfig) -> RuleSummary:
    """A rule in words: what it watches, when it fires and resolves."""
    selector = rule.selector
    watched = [
        f"{name}={value}"
        for name, value in (
            ("model_id", selector.model_id),
            ("attribute", selector.attribute),
            ("window", selector.window),
            ("group", selector.group),
        )
        if value not in (None, "*")
    ]
    condition = f"{selector.metric} {rule.condition.op} {rule.condition.threshold:g}"
    if watched:
        condition += f" ({', '.join(watched)})"
    # it resolves once the value no longer breaches the clear threshold
    clear_op = {">": "<=", ">=": "<", "<": ">=", "<=": ">"}[rule.condition.op]
    held = rule.for_
    parts = [
        f"{format_duration(held.seconds)}" if held.seconds else "",
        f"{held.evaluations} evaluations" if held.evaluations else "",
        f"{held.windows} windows" if held.windows else "",
    ]
    return RuleSummary(
        name=rule.name,
        condition=condition + ("" if rule.mode == "point" else f" [{rule.mode}]"),
        clear=f"{clear_op} {rule.clear:g}",
        for_=", ".join(part for part in parts if part) or "at once",
        severity=rule.severity,
    )
