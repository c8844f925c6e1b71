"""What ``fairwatch demo`` does with its options: run the demo, or produce its events to Kafka."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TextIO

from fairwatch.demo.report import hours, when
from fairwatch.demo.settings import DemoOptions


def main(
    *,
    out: Path,
    seed: int = 7,
    short: bool = False,
    speed: float | None = None,
    webhook: str | None = None,
    kafka: str | None = None,
    live: bool | None = None,
    predictions_topic: str = "predictions",
    labels_topic: str = "labels",
    stream: TextIO,
) -> int:
    """Run the demo and print where its report is; returns the exit code."""
    # The pipeline and alert manager log one line per event worth knowing; the demo shows its
    # own progress instead, so only warnings get through.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    options = DemoOptions(
        out=out,
        seed=seed,
        short=short,
        speed=speed,
        webhook=webhook,
        kafka=kafka,
        live=live,
        predictions_topic=predictions_topic,
        labels_topic=labels_topic,
    )
    if kafka:
        from fairwatch.demo.producer import produce_demo

        return produce_demo(options, stream)

    from fairwatch.demo.runner import run_demo

    result = run_demo(options)
    settings = result.scenario.settings
    print(file=stream)
    print(
        f"drift injected: {settings.drift_attribute}={settings.drift_group} "
        f"{when(settings.drift_start)} → {when(settings.drift_end)}",
        file=stream,
    )
    if not result.alerts:
        print("no alert fired", file=stream)
    for alert in result.alerts:
        fired = alert.fired_at - settings.drift_start
        line = f"alert {alert.rule} [{alert.name}] fired {when(alert.fired_at)}"
        line += f" ({hours(fired)} after the drift started)" if fired >= 0 else " (before drift)"
        if alert.resolved_at is not None:
            line += (
                f", resolved {when(alert.resolved_at)} "
                f"({hours(alert.resolved_at - settings.drift_end)} after it ended)"
            )
        print(line, file=stream)
    if webhook:
        print(f"notifications delivered to {webhook}: {len(result.notifications)}", file=stream)
    print(f"metrics (SQLite): {result.database}", file=stream)
    print(f"report: {result.report}", file=stream)
    return 0
