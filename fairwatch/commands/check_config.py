"""``fairwatch check-config FILE``: validate a configuration file and summarise it."""

from __future__ import annotations

import argparse
from typing import Any

from fairwatch.commands._config import EXIT_CONFIG, load_or_report

ORDER = 11


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("check-config", help="validate a daemon configuration file")
    parser.add_argument("file", help="the YAML configuration file")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Every check ``fairwatch run`` makes before it starts (the same function), nothing else."""
    config = load_or_report(args.file, warn=True)
    if config is None:
        return EXIT_CONFIG
    sink = f"influxdb {config.influxdb.url}" if config.influxdb else "embedded sink"
    print(
        f"{args.file}: ok — topics {config.kafka.predictions_topic}/{config.kafka.labels_topic}, "
        f"group {config.kafka.group_id}, {len(config.models) or 'any'} model(s), "
        f"attributes {', '.join(config.sensitive.attributes)}, "
        f"windows {', '.join(spec.name for spec in config.windows)}, {sink}, "
        f"alerting {'on' if config.alerting else 'off'}"
    )
    if config.kafka.mode == "pane_counts":
        print(f"  kafka.mode pane_counts: evaluates the pane topic {config.kafka.pane_topic}")
    if config.alerting is not None:
        from fairwatch.app import validate

        for rule in validate(config).rules:
            chosen = "set" if "mode" in rule.model_fields_set else "default"
            print(
                f"  rule {rule.name}: mode {rule.mode} ({chosen}), metric "
                f"{rule.selector.metric}, window {rule.selector.window}"
            )
    return 0
